// Slurm time strings (every documented format, bad values refused with a clear message),
// their formatting back, the job Comment format, the requeue decision, the segment log,
// and the parsing of `scontrol show job -o` output.
#include "job/slurm_time.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "job/decision.h"
#include "job/segment_log.h"
#include "job/slurm.h"
#include "test_util.h"

namespace cairn::job {
namespace {

struct Good {
  const char* text;
  int64_t seconds;
};

TEST(SlurmTime, ParsesEveryFormat) {
  const Good kGood[] = {
      {"0", 0},
      {"1", 60},
      {"90", 5400},     // MM beyond an hour
      {"30:00", 1800},  // MM:SS
      {"1:30", 90},
      {"120:59", 120 * 60 + 59},  // minutes are the leading field: any size
      {"01:00:00", 3600},         // HH:MM:SS
      {"48:00:00", 48 * 3600},    // NERSC's scripts broke on this one
      {"00:00:01", 1},
      {"100:59:59", 100 * 3600 + 59 * 60 + 59},
      {"1-0", 86400},  // D-HH
      {"2-12", 2 * 86400 + 12 * 3600},
      {"1-02:03", 86400 + 2 * 3600 + 3 * 60},         // D-HH:MM
      {"1-02:03:04", 86400 + 2 * 3600 + 3 * 60 + 4},  // D-HH:MM:SS
      {"0-00:01:30", 90},
      {"365-23:59:59", 365 * 86400 + 23 * 3600 + 59 * 60 + 59},
      {"  45  ", 45 * 60},  // blanks around are ignored
      {"1:00:00\n", 3600},
      {"007", 7 * 60},  // leading zeros
  };
  for (const auto& g : kGood) {
    auto r = ParseSlurmTime(g.text);
    ASSERT_TRUE(r.ok()) << "'" << g.text << "': " << r.status().ToString();
    EXPECT_EQ(r.value(), g.seconds) << "'" << g.text << "'";
  }
}

TEST(SlurmTime, UnlimitedIsDistinct) {
  for (const char* t :
       {"UNLIMITED", "unlimited", "Unlimited", "INFINITE", "infinite", " UNLIMITED "}) {
    auto r = ParseSlurmTime(t);
    ASSERT_TRUE(r.ok()) << t;
    EXPECT_EQ(r.value(), kSlurmTimeUnlimited) << t;
  }
  EXPECT_NE(ParseSlurmTime("0").value(), kSlurmTimeUnlimited);
}

struct Bad {
  const char* text;
  const char* message_part;  // what the message must mention
};

TEST(SlurmTime, RefusesBadValuesWithAClearMessage) {
  const Bad kBad[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"abc", "not a whole number"},
      {"1h", "not a whole number"},
      {"-5", "one '-' after the days"},
      {"+5", "not a whole number"},
      {"1.5", "not a whole number"},
      {"1:60", "seconds must be below 60"},
      {"1:2:3:4", "expected MM, MM:SS"},
      {"1:60:00", "minutes must be below 60"},
      {"1:00:60", "seconds must be below 60"},
      {"1-24", "hours after the days must be below 24"},
      {"1-", "empty hours field"},
      {"-1-00", "one '-' after the days"},
      {"1-2-3", "one '-' after the days"},
      {"1-00:60", "minutes must be below 60"},
      {"1-00:00:60", "seconds must be below 60"},
      {"1-00:00:00:00", "too many ':' fields"},
      {"1::00", "empty minutes field"},
      {":30", "empty minutes field"},
      {"30:", "empty seconds field"},
      {"1 000", "not a whole number"},
      {"unlimitedx", "not a whole number"},
      {"99999999999999999999", "too large"},   // overflows int64 while parsing
      {"999999999999999999", "too large"},     // fits, but * 60 overflows
      {"999999999999999-00", "too large"},     // days * 86400 overflows
      {"153722867280912930:00", "too large"},  // minutes * 60 beyond the maximum
  };
  for (const auto& b : kBad) {
    auto r = ParseSlurmTime(b.text);
    ASSERT_FALSE(r.ok()) << "'" << b.text << "' was accepted as " << r.value();
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << b.text;
    EXPECT_NE(r.status().message().find(b.message_part), std::string::npos)
        << "'" << b.text << "': " << r.status().message();
    EXPECT_NE(r.status().message().find("bad Slurm time"), std::string::npos) << b.text;
  }
}

TEST(SlurmTime, FormatsAsDaysHoursMinutesSeconds) {
  EXPECT_EQ(FormatSlurmTime(0), "0-00:00:00");
  EXPECT_EQ(FormatSlurmTime(59), "0-00:00:59");
  EXPECT_EQ(FormatSlurmTime(90), "0-00:01:30");
  EXPECT_EQ(FormatSlurmTime(48 * 3600), "2-00:00:00");
  EXPECT_EQ(FormatSlurmTime(86400 + 3661), "1-01:01:01");
  EXPECT_EQ(FormatSlurmTime(-5), "0-00:00:00");
  EXPECT_EQ(FormatSlurmTime(kSlurmTimeUnlimited), "UNLIMITED");
  // Round trip over a spread of values.
  for (int64_t s : {int64_t{0}, int64_t{1}, int64_t{3599}, int64_t{86399}, int64_t{86400},
                    int64_t{1234567}, int64_t{1} << 40}) {
    auto r = ParseSlurmTime(FormatSlurmTime(s));
    ASSERT_TRUE(r.ok()) << s;
    EXPECT_EQ(r.value(), s);
  }
}

TEST(JobComment, ParsesPlainTimeAndOurFormat) {
  auto plain = ParseJobComment("4:00:00");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.value().remaining, 4 * 3600);
  EXPECT_EQ(plain.value().max, -1);
  auto ours = ParseJobComment(FormatJobComment({150, 60}));
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  EXPECT_EQ(ours.value().remaining, 150);
  EXPECT_EQ(ours.value().max, 60);
  EXPECT_EQ(FormatJobComment({150, 60}), "0-00:02:30,max=0-00:01:00");
  EXPECT_EQ(ParseJobComment("").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseJobComment("(null)").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseJobComment("my run").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseJobComment("1:00,foo=2").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseJobComment("1:00,max=x").status().code(), Code::kInvalidArgument);
  auto unl = ParseJobComment("UNLIMITED");
  ASSERT_TRUE(unl.ok());
  EXPECT_EQ(unl.value().remaining, kSlurmTimeUnlimited);
}

TEST(Decide, DoneAndFailedStop) {
  Decision d = Decide(AppEnd::kFinished, 0, 600, 100, 30, 300);
  EXPECT_EQ(d.action, "done");
  EXPECT_FALSE(d.requeue);
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.remaining, 500);
  d = Decide(AppEnd::kFailed, 3, 600, 100, 30, 300);
  EXPECT_EQ(d.action, "failed");
  EXPECT_FALSE(d.requeue);
  EXPECT_EQ(d.exit_code, 3);
  d = Decide(AppEnd::kFailed, 128 + 9, 600, 100, 30, 300);
  EXPECT_EQ(d.exit_code, 137);
}

TEST(Decide, CheckpointedRequeuesWithTheRemainingTime) {
  // Plenty left: the next limit is the original maximum.
  Decision d = Decide(AppEnd::kCheckpointed, 0, 3600, 600, 60, 900);
  EXPECT_TRUE(d.requeue);
  EXPECT_EQ(d.action, "requeue");
  EXPECT_EQ(d.remaining, 3000);
  EXPECT_EQ(d.next_limit, 900);
  // Little left: the next limit is what is left.
  d = Decide(AppEnd::kCheckpointed, 0, 1000, 600, 60, 900);
  EXPECT_TRUE(d.requeue);
  EXPECT_EQ(d.next_limit, 400);
  // Interrupted (killed before a final checkpoint) also resumes.
  d = Decide(AppEnd::kInterrupted, 137, 1000, 600, 60, 900);
  EXPECT_TRUE(d.requeue);
  // Unknown maximum: the remaining time.
  d = Decide(AppEnd::kCheckpointed, 0, 1000, 600, 60, -1);
  EXPECT_EQ(d.next_limit, 400);
  // Unlimited total: requeue with the maximum, forever.
  d = Decide(AppEnd::kCheckpointed, 0, kSlurmTimeUnlimited, 600, 60, 900);
  EXPECT_TRUE(d.requeue);
  EXPECT_EQ(d.remaining, kSlurmTimeUnlimited);
  EXPECT_EQ(d.next_limit, 900);
  d = Decide(AppEnd::kCheckpointed, 0, kSlurmTimeUnlimited, 600, 60, kSlurmTimeUnlimited);
  EXPECT_EQ(d.next_limit, kSlurmTimeUnlimited);
}

TEST(Decide, OutOfTimeStops) {
  Decision d = Decide(AppEnd::kCheckpointed, 0, 600, 580, 30, 900);
  EXPECT_FALSE(d.requeue);
  EXPECT_EQ(d.action, "out-of-time");
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.remaining, 20);
  d = Decide(AppEnd::kCheckpointed, 0, 600, 900, 30, 900);  // overran: never negative
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.action, "out-of-time");
  d = Decide(AppEnd::kCheckpointed, 0, 600, 569, 30, 900);  // 31 s > lead: one more segment
  EXPECT_TRUE(d.requeue);
  EXPECT_EQ(d.next_limit, 31);
}

TEST(SegmentLog, RoundTripsAndMergesSegments) {
  cairn::testing::TempDir tmp;
  const std::string path = SegmentLogPath(tmp.path(), "123");
  EXPECT_EQ(path, tmp.path() + "/.cairn/job-123.log");
  SegmentRecord r;
  r.job = "123";
  r.segment = 0;
  r.mode = "transparent";
  r.action = "running";
  r.start = 1700000000;
  r.time_limit = 60;
  r.remaining = 240;
  ASSERT_TRUE(AppendSegmentRecord(path, r).ok());
  r.action = "requeue";
  r.end = 1700000040;
  r.used = 40;
  r.trigger = "signal";
  r.ckpt_start = 35.25;
  r.ckpt_cost = 0.5;
  r.remaining = 200;
  r.next_limit = 60;
  r.exit_status = 0;
  r.message = "quote \" backslash \\ newline \n tab \t";
  ASSERT_TRUE(AppendSegmentRecord(path, r).ok());
  SegmentRecord s1;
  s1.job = "123";
  s1.segment = 1;
  s1.action = "running";
  s1.start = 1700000050;
  ASSERT_TRUE(AppendSegmentRecord(path, s1).ok());
  SegmentRecord s2 = s1;
  s2.segment = 2;
  s2.start = 1700000120;
  ASSERT_TRUE(AppendSegmentRecord(path, s2).ok());
  s2.action = "done";
  s2.used = 30;
  ASSERT_TRUE(AppendSegmentRecord(path, s2).ok());
  {  // a torn last line is skipped and counted
    FILE* f = std::fopen(path.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs("{\"job\":\"123\",\"segm", f);
    std::fclose(f);
  }
  auto log = ReadSegmentLog(path);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(log.value().records.size(), 5u);
  EXPECT_EQ(log.value().bad_lines, 1);
  const SegmentRecord& back = log.value().records[1];
  EXPECT_EQ(back.action, "requeue");
  EXPECT_EQ(back.message, r.message);
  EXPECT_DOUBLE_EQ(back.ckpt_start, 35.25);
  EXPECT_DOUBLE_EQ(back.ckpt_cost, 0.5);
  EXPECT_EQ(back.next_limit, 60);
  EXPECT_EQ(back.remaining, 200);
  EXPECT_EQ(back.mode, "transparent");

  auto segs = SegmentsOf(log.value());
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].action, "requeue");
  EXPECT_EQ(segs[0].time_limit, 60);
  EXPECT_EQ(segs[1].action, "lost");  // only "running", and a later segment exists
  EXPECT_EQ(segs[2].action, "done");
  EXPECT_EQ(segs[2].start, 1700000120);

  auto logs = FindSegmentLogs(tmp.path());
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0], path);
}

TEST(SegmentLog, RefusesWhatIsNotARecord) {
  for (const char* bad :
       {"", "[]", "{}", "{\"segment\":1}", "{\"action\":\"done\"}",
        "{\"segment\":\"1\",\"action\":\"done\"}", "{\"segment\":1,\"action\":\"done\"} x",
        "{\"segment\":1,\"action\":3}", "{\"segment\":1,\"action\":\"done\",\"used\":{}}"}) {
    EXPECT_FALSE(DecodeSegmentRecord(bad).ok()) << bad;
  }
  auto ok = DecodeSegmentRecord("{\"segment\":2,\"action\":\"done\",\"used\":null}");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value().segment, 2);
  EXPECT_EQ(ok.value().used, -1);
}

TEST(Scontrol, ParsesShowJobOneLine) {
  const std::string line =
      "JobId=42 JobName=cairn-t UserId=root(0) GroupId=root(0) MCS_label=N/A "
      "Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=RUNNING Reason=None "
      "Dependency=(null) Requeue=1 Restarts=2 BatchFlag=1 Reboot=0 ExitCode=0:0 "
      "RunTime=00:00:12 TimeLimit=00:01:00 TimeMin=N/A SubmitTime=2026-11-22T14:28:25 "
      "EligibleTime=2026-11-22T14:28:25 StartTime=2026-11-22T14:28:25 "
      "EndTime=2026-11-22T14:29:25 Deadline=N/A Partition=debug "
      "Comment=0-00:02:30,max=0-00:01:00 with blanks NodeList=localhost\n";
  auto info = ParseScontrolJob(line);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info.value().job_id, "42");
  EXPECT_EQ(info.value().state, "RUNNING");
  EXPECT_EQ(info.value().restarts, 2);
  EXPECT_EQ(info.value().time_limit, 60);
  EXPECT_EQ(info.value().comment, "0-00:02:30,max=0-00:01:00 with blanks");
  EXPECT_EQ(info.value().end_time - info.value().start_time, 60);
  auto unl = ParseScontrolJob("JobId=7 TimeLimit=UNLIMITED Comment=(null) EndTime=Unknown");
  ASSERT_TRUE(unl.ok());
  EXPECT_EQ(unl.value().time_limit, kSlurmTimeUnlimited);
  EXPECT_EQ(unl.value().comment, "");
  EXPECT_EQ(unl.value().end_time, -1);
  EXPECT_FALSE(ParseScontrolJob("slurm_load_jobs error: Invalid job id specified").ok());
}

TEST(Scontrol, Timestamps) {
  auto a = ParseSlurmTimestamp("2026-11-22T14:28:25");
  auto b = ParseSlurmTimestamp("2026-11-22T15:28:25\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b.value() - a.value(), 3600);
  EXPECT_EQ(ParseSlurmTimestamp("Unknown").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseSlurmTimestamp("N/A").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseSlurmTimestamp("yesterday").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseSlurmTimestamp("2026-11-22T14:28:25x").status().code(), Code::kInvalidArgument);
}

TEST(RunTool, CapturesOutputStatusAndTimeout) {
  auto r = RunTool({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value().out, "out\n");
  EXPECT_EQ(r.value().err, "err\n");
  EXPECT_EQ(r.value().exit_status, 3);
  auto bad = RunToolOk({"sh", "-c", "echo nope >&2; exit 1"}, 10000);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("nope"), std::string::npos);
  auto slow = RunTool({"sleep", "10"}, 200);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), Code::kUnavailable);
  auto missing = RunTool({"/nonexistent/tool"}, 1000);
  EXPECT_FALSE(missing.ok() && missing.value().exit_status == 0);
}

}  // namespace
}  // namespace cairn::job
