// libFuzzer target: what the serve module itself parses from a request, on
// arbitrary bytes (Beast parses the HTTP framing; this covers the rest):
// the router (path splitting, backtracking, percent-decoding of parameters),
// query parameters, the Authorization header against a token store, the
// token file parser and the JSON error body. Nothing may crash, and:
//   - a found route's parameters are exactly its declared names;
//   - an error body is valid UTF-8 whatever the message holds.
//
// Build with -DEDDY_FUZZ=ON (clang) and run, e.g.:
//   build/fuzz/bin/fuzz_http_request -max_total_time=60 -max_len=4096

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/utf8.h"
#include "serve/auth.h"
#include "serve/http_types.h"
#include "serve/router.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property failed: %s\n", what);
    std::abort();
  }
}

const eddy::Router& TheRouter() {
  static const eddy::Router* router = [] {
    auto* r = new eddy::Router();
    auto h = [](const eddy::HttpRequest&) { return eddy::HttpResponse::Json("{}"); };
    for (const char* p :
         {"/", "/v2", "/v2/models/{name}", "/v2/models/stats", "/v2/models/{name}/ready",
          "/v2/models/{name}/versions/{version}/infer", "/a/{x}/c", "/a/b/d", "/{any}/{thing}/x"}) {
      (void)r->Add(eddy::HttpMethod::kGet, p, {}, h);
    }
    (void)r->Add(eddy::HttpMethod::kPost, "/v2/models/{name}/infer", {}, h);
    return r;
  }();
  return *router;
}

const eddy::TokenStore& TheTokens() {
  static const eddy::TokenStore* tokens = [] {
    auto s = eddy::TokenStore::Parse(
        "fuzz-token-0123456789 read reader\nfuzz-admin-0123456789 all admin", "fuzz");
    Check(s.ok(), "seed token store parses");
    return new eddy::TokenStore(std::move(*s));
  }();
  return *tokens;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      std::vector<eddy::PathParam> params;
      for (eddy::HttpMethod m : {eddy::HttpMethod::kGet, eddy::HttpMethod::kHead,
                                 eddy::HttpMethod::kPost, eddy::HttpMethod::kDelete}) {
        eddy::Router::Match match = TheRouter().Find(m, in, params);
        if (match.kind == eddy::Router::Match::Kind::kFound) {
          Check(params.size() == match.route->param_names.size(), "one value per parameter");
          for (size_t i = 0; i < params.size(); ++i) {
            Check(params[i].name == match.route->param_names[i], "parameters in order");
          }
        } else {
          Check(params.empty(), "no parameters unless found");
        }
        if (match.kind == eddy::Router::Match::Kind::kMethodNotAllowed) {
          Check(!match.allow.empty() && match.route != nullptr, "405 names the methods");
        }
      }
      break;
    }
    case 1: {
      eddy::HttpRequest req;
      req.query = in;
      for (const char* name : {"a", "ms", "", "x y"}) (void)req.QueryParam(name);
      (void)eddy::PercentDecode(in, true);
      break;
    }
    case 2: {
      for (auto role : {std::optional<eddy::Role>(), std::optional(eddy::Role::kRead),
                        std::optional(eddy::Role::kAdmin)}) {
        auto p = eddy::Authorize(&TheTokens(), in, role);
        if (p.ok()) Check(*p != nullptr, "a principal is never null");
      }
      break;
    }
    case 3: {
      auto s = eddy::TokenStore::Parse(in, "fuzz");
      if (!s.ok()) Check(eddy::IsValidUtf8(eddy::ErrorJson("x", s.status().message())), "utf8");
      break;
    }
    case 4: {
      std::string body = eddy::ErrorJson(in, in);
      Check(eddy::IsValidUtf8(body), "error bodies are valid UTF-8");
      break;
    }
  }
  return 0;
}
