#include "common/names.h"

#include <gtest/gtest.h>

namespace cairn {

TEST(Names, AcceptsValid) {
  for (const char* n : {"heat", "a", "A.b_c.9", "ckpt.v2", "...a"}) {
    EXPECT_TRUE(ValidateName(n).ok()) << n;
  }
}

TEST(Names, RejectsInvalid) {
  for (const char* n : {"", ".", "..", "a/b", "../x", "/abs", "a b", "a\n", "é", "a-b", "a*"}) {
    Status st = ValidateName(n);
    EXPECT_FALSE(st.ok()) << n;
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << n;
  }
  EXPECT_FALSE(ValidateName(std::string(kMaxNameLength + 1, 'a')).ok());
  EXPECT_TRUE(ValidateName(std::string(kMaxNameLength, 'a')).ok());
}

TEST(Names, Versions) {
  EXPECT_TRUE(ValidateVersion(0).ok());
  EXPECT_TRUE(ValidateVersion(1LL << 40).ok());
  EXPECT_FALSE(ValidateVersion(-1).ok());
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(Status::FromErrno("x", ENOSPC).code(), Code::kNoSpace);
  EXPECT_EQ(Status::FromErrno("x", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(Status::FromErrno("x", EACCES).code(), Code::kIOError);
  EXPECT_NE(Status::FromErrno("ctx", EACCES).message().find("ctx"), std::string::npos);
  EXPECT_EQ(Status::IOError("a").Annotate("b").message(), "b: a");
  EXPECT_TRUE(Status::Ok().Annotate("b").ok());
}

}  // namespace cairn
