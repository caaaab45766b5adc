// Strings helpers and atomic file writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "lats/core/error.hpp"
#include "lats/core/files.hpp"
#include "lats/core/strings.hpp"

TEST(Strings, EditDistance) {
  EXPECT_EQ(lats::editDistance("", ""), 0u);
  EXPECT_EQ(lats::editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(lats::editDistance("threads", "thredas"), 2u);
  EXPECT_EQ(lats::editDistance("abc", ""), 3u);
}

TEST(Strings, ClosestMatchSuggestsOnlyCloseNames) {
  const std::vector<std::string> names = {"threads", "log_level", "view", "rk_scheme"};
  EXPECT_EQ(lats::closestMatch("thredas", names), "threads");
  EXPECT_EQ(lats::closestMatch("log_levle", names), "log_level");
  EXPECT_EQ(lats::closestMatch("completely_different", names), "");
  EXPECT_EQ(lats::didYouMean("viwe", names), " Did you mean 'view'?");
  EXPECT_EQ(lats::didYouMean("zzzzzzzz", names), "");
  EXPECT_EQ(lats::join({"a", "b", "c"}, ", "), "a, b, c");
}

TEST(Strings, SplitListTrimsAndSkipsEmptyItems) {
  EXPECT_EQ(lats::splitList(" a, b,,c ,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(lats::splitList("0.01;0.05", ';'), (std::vector<std::string>{"0.01", "0.05"}));
  EXPECT_TRUE(lats::splitList("").empty());
  EXPECT_TRUE(lats::splitList(" , ").empty());
}

TEST(Files, Crc32IsTheStandardOneAndCoversWholeFiles) {
  const std::string check = "123456789";
  EXPECT_EQ(lats::crc32(check.data(), check.size()), 0xCBF43926u);                         // the CRC-32 check value
  EXPECT_EQ(lats::crc32(check.data() + 4, 5, lats::crc32(check.data(), 4)), 0xCBF43926u);  // in pieces
  EXPECT_EQ(lats::crc32Text(0xCBF43926u), "crc32:cbf43926");
  const std::string path = "files_crc_test_" + std::to_string(static_cast<long>(::getpid())) + ".bin";
  std::string big(3 << 20, '\0');  // more than one read buffer
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919u >> 3);
  std::ofstream(path, std::ios::binary) << big;
  EXPECT_EQ(lats::fileCrc32(path), lats::crc32(big.data(), big.size()));
  std::remove(path.c_str());
  EXPECT_THROW(lats::fileCrc32(path), lats::FileFormatError);
}

TEST(Files, AtomicWritesLeaveNothingWhenInterrupted) {
  const std::string path = "files_atomic_test_" + std::to_string(static_cast<long>(::getpid())) + ".txt";
  std::string used;
  EXPECT_THROW(lats::writeFileAtomically(path,
                                         [&](const std::string& tmp) {
                                           used = tmp;
                                           std::ofstream(tmp) << "half";
                                           throw std::runtime_error("interrupted");
                                         }),
               std::runtime_error);
  EXPECT_FALSE(std::ifstream(path).good());
  EXPECT_FALSE(std::ifstream(used).good());  // the temporary is gone too
  lats::writeFileAtomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "whole"; });
  std::string text;
  std::ifstream(path) >> text;
  EXPECT_EQ(text, "whole");
  std::remove(path.c_str());
  EXPECT_THROW(lats::writeFileAtomically("/no/such/dir/x.txt", [](const std::string&) {}), lats::Error);
}
