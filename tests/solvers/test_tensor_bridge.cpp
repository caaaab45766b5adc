#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "lats/core/error.hpp"
#include "lats/core/runtime.hpp"
#include "lats/solvers/neural/tensor_bridge.hpp"
#include "test_support.hpp"

using lats::test::messageOf;
namespace nn = lats::solvers::neural;

TEST(TensorBridge, FieldToTensorSharesMemory) {
  lats::Field f("u", 5, {"a", "b", "c"});
  auto t = nn::toTensor(f);
  EXPECT_EQ(t.sizes(), (at::IntArrayRef{5, 3}));
  EXPECT_EQ(t.scalar_type(), at::kDouble);
  EXPECT_EQ(t.data_ptr<double>(), f.data());
  t.index_put_({2, 1}, 7.5);
  EXPECT_EQ(f.view()(2, 1), 7.5);
  f.view()(4, 2) = -3.0;
  EXPECT_EQ(t.index({4, 2}).item<double>(), -3.0);
  EXPECT_TRUE(t.is_contiguous());
}

TEST(TensorBridge, TensorKeepsTheFieldsMemoryAlive) {
  at::Tensor t;
  {
    lats::Field f("u", 1000, 2);
    f.fill(1.25);
    t = nn::toTensor(f);
  }  // the field is gone; the tensor still owns a reference to the View
  EXPECT_DOUBLE_EQ(t.sum().item<double>(), 2500.0);
  // A wrapped field with a keep-alive owner hands that owner on as well.
  auto owner = std::make_shared<std::vector<double>>(6, 0.5);
  std::weak_ptr<std::vector<double>> watch = owner;
  {
    auto w = lats::Field::wrap("w", owner->data(), 3, {"x", "y"}, lats::Location::Point, owner);
    owner.reset();
    t = nn::toTensor(w);
  }
  EXPECT_FALSE(watch.expired());
  EXPECT_DOUBLE_EQ(t.sum().item<double>(), 3.0);
  t = at::Tensor();
  EXPECT_TRUE(watch.expired());
}

TEST(TensorBridge, TensorToFieldSharesMemoryAndKeepsTensorAlive) {
  lats::Field f;
  const double* ptr = nullptr;
  {
    auto t = at::arange(8, at::kDouble).reshape({4, 2});
    ptr = t.data_ptr<double>();
    f = nn::toField(t, "p", {"p0", "p1"});
  }
  EXPECT_EQ(f.data(), ptr);
  EXPECT_TRUE(f.wrapsExternalMemory());
  EXPECT_EQ(f.view()(3, 1), 7.0);
}

TEST(TensorBridge, BadTensorsAreRejectedWithReasons) {
  EXPECT_NE(messageOf<lats::InvalidValueError>([] {
              nn::toField(at::zeros({3, 1}, at::kFloat), "p", {"p"});
            }).find("expected a float64 tensor"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([] {
              nn::toField(at::zeros({3, 2}, at::kDouble), "p", {"p"});
            }).find("tensor has 2 columns but 1 component names were given"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([] {
              nn::toField(at::zeros({3}, at::kDouble), "p", {"p"});
            }).find("expected a 2D tensor"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::InvalidValueError>([] {
              nn::toField(at::zeros({2, 3}, at::kDouble).t(), "p", {"a", "b"});
            }).find("not contiguous"),
            std::string::npos);
  lats::Field f("u", 3, 1);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              nn::copyToField(at::zeros({4, 1}), f);
            }).find("differs from the field's (3, 1)"),
            std::string::npos);
}

TEST(TensorBridge, CopyToFieldConvertsDtype) {
  lats::Field f("u", 3, 2);
  nn::copyToField(at::full({3, 2}, 0.5f, at::kFloat), f);
  EXPECT_EQ(f.view()(2, 1), 0.5);
}

TEST(TensorBridge, RuntimeSetsTorchThreads) {
  // solvers/neural registers a start hook: torch uses the runtime's threads per rank.
  EXPECT_EQ(at::get_num_threads(), lats::Runtime::current().threadsPerRank());
}
