#include "serve/router.h"

#include "base/strings.h"

namespace eddy {

namespace {

constexpr size_t kNumMethods = static_cast<size_t>(HttpMethod::kOther) + 1;

// Splits "/a/b" into {"a", "b"}; "/" gives {""}. Returns the number of
// segments, or kMaxSegments + 1 when there are more.
size_t SplitPath(std::string_view path, std::string_view* out) {
  size_t n = 0;
  size_t pos = 1;
  while (true) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (n == Router::kMaxSegments) return n + 1;
    out[n++] = path.substr(pos, slash - pos);
    if (slash == path.size()) return n;
    pos = slash + 1;
  }
}

bool ValidParamName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;
  std::array<const Route*, kNumMethods> routes{};

  bool HasAny() const {
    for (const Route* r : routes) {
      if (r != nullptr) return true;
    }
    return false;
  }
  const Route* For(HttpMethod m) const {
    const Route* r = routes[static_cast<size_t>(m)];
    if (r == nullptr && m == HttpMethod::kHead) r = routes[static_cast<size_t>(HttpMethod::kGet)];
    return r;
  }
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Status Router::Add(HttpMethod method, std::string_view pattern, RouteOptions options,
                   HttpHandler handler) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(StrCat("route ", Quote(pattern), ": ", why));
  };
  if (method == HttpMethod::kOther) return bad("method must be a known HTTP method");
  if (pattern.empty() || pattern[0] != '/') return bad("a pattern starts with '/'");
  if (!handler) return bad("no handler");
  std::array<std::string_view, kMaxSegments + 1> segs;
  size_t n = SplitPath(pattern, segs.data());
  if (n > kMaxSegments) return bad(StrCat("more than ", kMaxSegments, " segments"));
  auto route = std::make_unique<Route>();
  Node* node = root_.get();
  for (size_t i = 0; i < n; ++i) {
    std::string_view s = segs[i];
    if (!s.empty() && s.front() == '{') {
      if (s.back() != '}') return bad(StrCat("segment ", Quote(s), " is not '{name}'"));
      std::string_view name = s.substr(1, s.size() - 2);
      if (!ValidParamName(name)) return bad(StrCat("bad parameter name ", Quote(name)));
      for (const std::string& other : route->param_names) {
        if (other == name) return bad(StrCat("parameter ", Quote(name), " appears twice"));
      }
      route->param_names.emplace_back(name);
      if (!node->param) node->param = std::make_unique<Node>();
      node = node->param.get();
    } else {
      if (s.find_first_of("{}") != std::string_view::npos) {
        return bad(StrCat("segment ", Quote(s), " mixes literal text and a parameter"));
      }
      auto it = node->literals.find(s);
      if (it == node->literals.end()) {
        it = node->literals.emplace(std::string(s), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
  }
  const Route*& slot = node->routes[static_cast<size_t>(method)];
  if (slot != nullptr) {
    return Status::AlreadyExists(StrCat("route ", HttpMethodName(method), " ", Quote(pattern),
                                        " conflicts with ", Quote(slot->pattern)));
  }
  route->method = method;
  route->pattern = std::string(pattern);
  route->options = options;
  route->handler = std::move(handler);
  route->index = routes_.size();
  slot = route.get();
  routes_.push_back(std::move(route));
  return Status::OK();
}

const Router::Node* Router::Descend(const Node& node, const std::string_view* segs, size_t n,
                                    size_t i, HttpMethod method, bool any_method,
                                    std::string_view* values, size_t nvalues) const {
  if (i == n) {
    bool ok = any_method ? node.HasAny() : node.For(method) != nullptr;
    return ok ? &node : nullptr;
  }
  auto it = node.literals.find(segs[i]);
  if (it != node.literals.end()) {
    const Node* r = Descend(*it->second, segs, n, i + 1, method, any_method, values, nvalues);
    if (r != nullptr) return r;
  }
  if (node.param && !segs[i].empty()) {
    values[nvalues] = segs[i];
    return Descend(*node.param, segs, n, i + 1, method, any_method, values, nvalues + 1);
  }
  return nullptr;
}

Router::Match Router::Find(HttpMethod method, std::string_view path,
                           std::vector<PathParam>& params) const {
  Match m;
  params.clear();
  if (path.empty() || path[0] != '/') {
    m.kind = Match::Kind::kBadPath;
    return m;
  }
  std::array<std::string_view, kMaxSegments + 1> segs;
  size_t n = SplitPath(path, segs.data());
  if (n > kMaxSegments) return m;
  std::array<std::string_view, kMaxSegments> values;
  const Node* node = Descend(*root_, segs.data(), n, 0, method, false, values.data(), 0);
  if (node != nullptr) {
    const Route* r = node->For(method);
    for (size_t i = 0; i < r->param_names.size(); ++i) {
      std::optional<std::string> v = PercentDecode(values[i], false);
      if (!v) {
        params.clear();
        m.kind = Match::Kind::kBadPath;
        return m;
      }
      params.push_back(PathParam{r->param_names[i], std::move(*v)});
    }
    m.kind = Match::Kind::kFound;
    m.route = r;
    return m;
  }
  node = Descend(*root_, segs.data(), n, 0, method, true, values.data(), 0);
  if (node == nullptr) return m;
  m.kind = Match::Kind::kMethodNotAllowed;
  for (size_t k = 0; k < kNumMethods; ++k) {
    const Route* r = node->routes[k];
    if (r == nullptr) continue;
    if (m.route == nullptr) m.route = r;
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += HttpMethodName(static_cast<HttpMethod>(k));
    if (static_cast<HttpMethod>(k) == HttpMethod::kGet &&
        node->routes[static_cast<size_t>(HttpMethod::kHead)] == nullptr) {
      m.allow += ", HEAD";
    }
  }
  return m;
}

}  // namespace eddy
