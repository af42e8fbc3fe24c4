// A file written in pieces appears whole at its path on Commit, and not at all before: a
// writer given up on (or destroyed by an exception) leaves the old file and no temporary one.
#include "common/base/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_util.h"

namespace rlrec::common {
namespace {

TEST(AtomicFileWriterTest, TheFileAppearsWholeOnCommitAndAnAbandonedOneLeavesTheOldFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/file";
  WriteFileAtomically(path, {"old contents"});
  {
    AtomicFileWriter file(path, /*durable=*/false);
    file.Append("new, half written");
    EXPECT_EQ(testing::ReadFile(path), "old contents");
  }  // abandoned
  EXPECT_EQ(testing::ReadFile(path), "old contents");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  AtomicFileWriter file(path, /*durable=*/true);
  file.Append("HEADER");
  file.Append(" and the rest");
  file.WriteAt(0, "header");
  EXPECT_EQ(testing::ReadFile(path), "old contents");
  file.Commit();
  EXPECT_EQ(testing::ReadFile(path), "header and the rest");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFileWriterTest, AFolderThatCannotBeWrittenIsNamedInTheError) {
  try {
    AtomicFileWriter file("/nonexistent-folder/file", false);
    ADD_FAILURE() << "created a file in a folder that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("cannot create '/nonexistent-folder/file.tmp'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rlrec::common
