#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "lats/core/error.hpp"
#include "lats/core/field.hpp"
#include "lats/core/state.hpp"
#include "test_support.hpp"

using lats::test::messageOf;

TEST(Field, AllocatesZeroedWithComponentNames) {
  lats::Field f("velocity", 7, {"u", "v"});
  EXPECT_EQ(f.size(), 7);
  EXPECT_EQ(f.numComponents(), 2);
  EXPECT_EQ(f.view().label(), "lats::Field::velocity");
  EXPECT_EQ(f.componentIndex("v"), 1);
  EXPECT_FALSE(f.wrapsExternalMemory());
  for (int i = 0; i < 7; ++i) EXPECT_EQ(f.view()(i, 1), 0.0);
  lats::Field g("h", 3, 1);
  EXPECT_EQ(g.componentNames(), std::vector<std::string>{"h"});
  lats::Field w("w", 3, 3);
  EXPECT_EQ(w.componentNames()[2], "w_2");
}

TEST(Field, WrapsHostMemoryWithoutCopying) {
  std::vector<double> host(6, 1.0);  // 3 entities x 2 components, entity-major
  auto f = lats::Field::wrap("q", host.data(), 3, {"a", "b"});
  EXPECT_TRUE(f.wrapsExternalMemory());
  EXPECT_EQ(f.data(), host.data());
  host[3] = 42.0;                   // entity 1, component b
  EXPECT_EQ(f.view()(1, 1), 42.0);  // seen through the view
  f.view()(2, 0) = -1.0;
  EXPECT_EQ(host[4], -1.0);  // and back
}

TEST(Field, KeepAliveOwnsWrappedMemory) {
  auto owner = std::make_shared<std::vector<double>>(4, 2.5);
  std::weak_ptr<std::vector<double>> watch = owner;
  lats::Field copy;
  {
    auto f = lats::Field::wrap("k", owner->data(), 4, {"k"}, lats::Location::Vertex, owner);
    owner.reset();
    copy = f;  // a shallow copy shares the owner
  }
  ASSERT_FALSE(watch.expired());
  EXPECT_EQ(copy.view()(3, 0), 2.5);
  EXPECT_EQ(copy.location(), lats::Location::Vertex);
  copy = lats::Field();
  EXPECT_TRUE(watch.expired());
}

TEST(Field, CloneIsDeepCopyFromChecksShape) {
  lats::Field f("u", 4, 1);
  f.fill(3.0);
  auto c = f.clone();
  c.view()(0, 0) = 9.0;
  EXPECT_EQ(f.view()(0, 0), 3.0);
  f.copyFrom(c);
  EXPECT_EQ(f.view()(0, 0), 9.0);
  lats::Field g("g", 5, 1);
  EXPECT_EQ(messageOf<lats::DimensionMismatchError>([&] { f.copyFrom(g); }),
            "cannot copy field 'g' (5 x 1) into field 'u' (4 x 1): shapes differ");
}

TEST(Field, ErrorsNameTheProblem) {
  lats::Field f("velocity", 2, {"u", "v"});
  EXPECT_EQ(messageOf<lats::ConfigurationError>([&] { f.componentIndex("vv"); }),
            "field 'velocity' has no component 'vv'. Did you mean 'v'? Components: u, v");
  EXPECT_EQ(messageOf<lats::InvalidValueError>([] { lats::Field::wrap("p", nullptr, 3, {"p"}); }),
            "field 'p': cannot wrap a null pointer holding 3 entities");
  EXPECT_EQ(messageOf<lats::DimensionMismatchError>([] { lats::Field("z", 3, 0); }),
            "field 'z' needs at least one component, got 0");
}

TEST(Field, FirstNonFinite) {
  lats::Field f("u", 10, 2);
  EXPECT_EQ(f.firstNonFinite(), -1);
  f.view()(7, 1) = std::numeric_limits<double>::infinity();
  f.view()(4, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(f.firstNonFinite(), 4);
}

TEST(State, FieldsTimeStepAndDeepClone) {
  lats::State s;
  s.add(lats::Field("h", 3, 1));
  s.add(lats::Field("hu", 3, {"hu_x", "hu_y"}));
  s.setTime(1.5);
  s.setStepIndex(12);
  EXPECT_EQ(s.fieldNames(), (std::vector<std::string>{"h", "hu"}));
  auto c = s.clone();
  c.field("h").view()(0, 0) = 5.0;
  EXPECT_EQ(s.field("h").view()(0, 0), 0.0);
  EXPECT_EQ(c.time(), 1.5);
  EXPECT_EQ(c.stepIndex(), 12);
  c.setTime(2.0);
  s.copyFrom(c);
  EXPECT_EQ(s.field("h").view()(0, 0), 5.0);
  EXPECT_EQ(s.time(), 2.0);
  auto z = s.zerosLike();
  EXPECT_EQ(z.field("hu").numComponents(), 2);
  EXPECT_EQ(z.field("h").view()(0, 0), 0.0);
}

TEST(State, ErrorsNameTheProblem) {
  lats::State s;
  s.add(lats::Field("vorticity", 3, 1));
  EXPECT_EQ(messageOf<lats::ConfigurationError>([&] { s.field("vorticty"); }),
            "state has no field 'vorticty'. Did you mean 'vorticity'? Fields: vorticity");
  EXPECT_EQ(messageOf<lats::ConfigurationError>([&] { s.add(lats::Field("vorticity", 3, 1)); }),
            "state already has a field named 'vorticity'; field names must be unique");
  lats::State t;
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] { s.copyFrom(t); }).find("cannot copy a state with 0 fields"),
            std::string::npos);
}
