// Maps (method, path) to a handler. Patterns are '/'-separated segments,
// each a literal or a parameter "{name}":
//
//   router.Add(HttpMethod::kPost, "/v2/models/{name}/versions/{version}/infer",
//              {.role = Role::kPredict}, handler);
//
// A parameter matches one non-empty segment (no '/'); its value reaches the
// handler percent-decoded. At each position a literal segment is preferred to
// a parameter, with backtracking: "/v2/models/ready" beats
// "/v2/models/{name}" for that exact path. A path that matches some pattern
// but not for this method is "method not allowed" (405, with the methods that
// are); no match at all is "not found" (404). HEAD requests fall back to the
// GET route (the server then sends no body).
//
// Thread safety: build the router on one thread, then hand it to the
// HttpServer; Find is const and may run on any number of threads.

#ifndef EDDY_SERVE_ROUTER_H_
#define EDDY_SERVE_ROUTER_H_

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"
#include "serve/auth.h"
#include "serve/http_types.h"

namespace eddy {

// Runs on a server thread, synchronously: it should take microseconds, or a
// few milliseconds at most (a slow handler holds one of the server's
// threads). Must not throw; if it does, the client gets a 500 "internal"
// error and the exception's message is logged.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct RouteOptions {
  // The role a caller needs. nullopt makes the route public: only liveness
  // should be.
  std::optional<Role> role = Role::kAdmin;
  // When nonzero, replaces the server's max_body_bytes for this route (bulk
  // ingest takes more than predict).
  size_t max_body_bytes = 0;
};

struct Route {
  HttpMethod method;
  std::string pattern;
  RouteOptions options;
  HttpHandler handler;
  std::vector<std::string> param_names;  // in path order
  size_t index = 0;                      // position in Router::routes()
};

class Router {
 public:
  // Segments allowed in a path; longer paths are not found.
  static constexpr size_t kMaxSegments = 32;

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Errors: a malformed pattern (must start with '/', parameter names
  // [A-Za-z_][A-Za-z0-9_]* and distinct, no '{' or '}' inside literals,
  // at most kMaxSegments segments), kOther as method, or a route with the
  // same method and shape (same literals, parameters at the same places) as
  // an existing one (AlreadyExists).
  Status Add(HttpMethod method, std::string_view pattern, RouteOptions options,
             HttpHandler handler);

  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadPath };
    Kind kind = Kind::kNotFound;
    // kFound: the route (for HEAD, possibly the GET route).
    // kMethodNotAllowed: a route of the path, for its pattern.
    const Route* route = nullptr;
    // kMethodNotAllowed: the methods the path has, "GET, POST".
    std::string allow;
  };
  // `path` without the query. On kFound, `params` (cleared first) holds the
  // route's parameters in path order. kBadPath: a parameter with a bad
  // percent-escape, or a path not starting with '/'.
  Match Find(HttpMethod method, std::string_view path, std::vector<PathParam>& params) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Node;
  const Node* Descend(const Node& node, const std::string_view* segs, size_t n, size_t i,
                      HttpMethod method, bool any_method, std::string_view* values,
                      size_t nvalues) const;

  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace eddy

#endif  // EDDY_SERVE_ROUTER_H_
