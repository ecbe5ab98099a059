#include "serve/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/strings.h"
#include "test_util.h"

namespace eddy {
namespace {

constexpr std::string_view kAdminToken = "adm1n-t0ken-0123456789abcdef";
constexpr std::string_view kSvcToken = "svc_TOKEN/base64+x=";
constexpr std::string_view kIngestToken = "ingest-0123456789";

std::string File() {
  return "# Eddy API tokens\n"
         "\n" +
         std::string(kAdminToken) + "  all  ops@example.com\n" + std::string(kSvcToken) +
         "\tpredict,read\tfraud-svc   \r\n" + std::string(kIngestToken) + " ingest loader\n";
}

TEST(TokenStoreTest, ParsesTheFileFormat) {
  Result<TokenStore> s = TokenStore::Parse(File(), "tokens.txt");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->size(), 3u);
  const Principal* admin = s->Authenticate(kAdminToken);
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin->name, "ops@example.com");
  EXPECT_EQ(admin->roles, RoleSet::All());
  const Principal* svc = s->Authenticate(kSvcToken);
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->name, "fraud-svc");
  EXPECT_EQ(svc->roles.ToString(), "read,predict");
  EXPECT_EQ(s->Authenticate(kIngestToken)->roles.ToString(), "ingest");
}

TEST(TokenStoreTest, AuthenticateNeedsTheExactToken) {
  Result<TokenStore> s = TokenStore::Parse(StrCat(kSvcToken, " read svc"), "t");
  ASSERT_TRUE(s.ok());
  EXPECT_NE(s->Authenticate(kSvcToken), nullptr);
  EXPECT_EQ(s->Authenticate(kSvcToken.substr(0, kSvcToken.size() - 1)), nullptr);
  EXPECT_EQ(s->Authenticate(StrCat(kSvcToken, "x")), nullptr);
  EXPECT_EQ(s->Authenticate(""), nullptr);
  EXPECT_EQ(s->Authenticate(std::string(10000, 'a')), nullptr);
}

TEST(TokenStoreTest, ErrorsNameTheLineButNeverTheToken) {
  struct Case {
    std::string text;
    std::string error;
  };
  std::string secret = "s3cret-s3cret-s3cret";
  std::vector<Case> cases = {
      {"# c\n" + secret + " read", "t.txt:2: expected '<token> <role>[,<role>...] <name>', got 2"},
      {"short read x", "t.txt:1: token is 5 characters; tokens have 16 to 512"},
      {secret + "! read x", "t.txt:1: token has a character outside"},
      {secret + " read,wizard x", "t.txt:1: unknown role 'wizard'"},
      {secret + " read,,admin x", "t.txt:1: unknown role ''"},
      {secret + " read bad/name", "t.txt:1: name 'bad/name' has a character outside"},
      {secret + " read a\n\n" + secret + " admin b", "t.txt:3: same token as line 1"},
  };
  for (const Case& c : cases) {
    Result<TokenStore> s = TokenStore::Parse(c.text, "t.txt");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.error), std::string::npos) << s.status().message();
    EXPECT_EQ(s.status().message().find(secret), std::string::npos) << s.status().message();
  }
}

TEST(TokenStoreTest, SharedNamesAllowRotation) {
  Result<TokenStore> s =
      TokenStore::Parse("old-token-0123456789 predict svc\nnew-token-0123456789 predict svc", "t");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->Authenticate("old-token-0123456789")->name, "svc");
  EXPECT_EQ(s->Authenticate("new-token-0123456789")->name, "svc");
}

TEST(TokenStoreTest, EnvironmentVariableWithSemicolons) {
  setenv("EDDY_TEST_TOKENS", "tok-aaaaaaaaaaaaaaaa read a; tok-bbbbbbbbbbbbbbbb admin b;", 1);
  Result<TokenStore> s = TokenStore::FromEnv("EDDY_TEST_TOKENS");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->size(), 2u);
  EXPECT_EQ(s->Authenticate("tok-bbbbbbbbbbbbbbbb")->name, "b");
  setenv("EDDY_TEST_TOKENS", "tok-aaaaaaaaaaaaaaaa read a; oops", 1);
  s = TokenStore::FromEnv("EDDY_TEST_TOKENS");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("$EDDY_TEST_TOKENS:1 (entry 2)"), std::string::npos)
      << s.status().message();
  unsetenv("EDDY_TEST_TOKENS");
  s = TokenStore::FromEnv("EDDY_TEST_TOKENS");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
}

TEST(TokenStoreTest, LoadFileAndMerge) {
  testing::TempDir dir;
  std::string path = dir.File("tokens");
  testing::WriteFile(path, "file-token-0123456789 read from-file\n");
  chmod(path.c_str(), 0600);
  Result<TokenStore> s = TokenStore::LoadFile(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Result<TokenStore> more = TokenStore::Parse("env-token-0123456789 admin from-env", "env");
  ASSERT_TRUE(more.ok());
  ASSERT_TRUE(s->Merge(std::move(*more)).ok());
  EXPECT_EQ(s->size(), 2u);
  EXPECT_EQ(s->Authenticate("env-token-0123456789")->name, "from-env");
  Result<TokenStore> dup = TokenStore::Parse("file-token-0123456789 admin other", "env");
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(s->Merge(std::move(*dup)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenStore::LoadFile(dir.File("missing")).status().code(), StatusCode::kIoError);
}

class AuthorizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<TokenStore> s = TokenStore::Parse(StrCat(kSvcToken, " predict fraud-svc"), "t");
    ASSERT_TRUE(s.ok());
    tokens_ = std::move(*s);
  }
  TokenStore tokens_;
};

TEST_F(AuthorizeTest, AuthOffGrantsEverything) {
  Result<const Principal*> p = Authorize(nullptr, "", Role::kAdmin);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, &Principal::Unrestricted());
}

TEST_F(AuthorizeTest, PublicRoutes) {
  EXPECT_EQ(*Authorize(&tokens_, "", std::nullopt), &Principal::Anonymous());
  EXPECT_EQ(*Authorize(&tokens_, "Bearer wrong-token-xxxxxxxx", std::nullopt),
            &Principal::Anonymous());
  EXPECT_EQ((*Authorize(&tokens_, StrCat("Bearer ", kSvcToken), std::nullopt))->name, "fraud-svc");
}

TEST_F(AuthorizeTest, MissingMalformedAndUnknownTokensAre401) {
  for (std::string_view h : {"", "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Bearerx y",
                             "Bearer not-a-known-token-123"}) {
    Result<const Principal*> p = Authorize(&tokens_, h, Role::kPredict);
    ASSERT_FALSE(p.ok()) << h;
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << h;
    EXPECT_EQ(p.status().message().find("not-a-known"), std::string::npos);
  }
}

TEST_F(AuthorizeTest, SchemeIsCaseInsensitive) {
  for (std::string h : {StrCat("Bearer ", kSvcToken), StrCat("bearer ", kSvcToken),
                        StrCat("BEARER\t", kSvcToken, "  ")}) {
    Result<const Principal*> p = Authorize(&tokens_, h, Role::kPredict);
    ASSERT_TRUE(p.ok()) << h << " " << p.status().ToString();
    EXPECT_EQ((*p)->name, "fraud-svc");
  }
}

TEST_F(AuthorizeTest, WrongRoleIs403NamingThePrincipal) {
  Result<const Principal*> p = Authorize(&tokens_, StrCat("Bearer ", kSvcToken), Role::kAdmin);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(p.status().message(),
            "principal 'fraud-svc' lacks role 'admin' needed by this endpoint");
}

TEST(RoleTest, Names) {
  for (int i = 0; i < kNumRoles; ++i) {
    Role r = static_cast<Role>(i);
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_FALSE(ParseRole("Admin").has_value());
  EXPECT_EQ(RoleSet::All().ToString(), "ingest,read,predict,admin");
  EXPECT_EQ(RoleSet().ToString(), "");
}

}  // namespace
}  // namespace eddy
