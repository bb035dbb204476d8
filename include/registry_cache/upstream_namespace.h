// Which upstream an entry came from, when one edge serves several: the operator's
// registry_cache_namespace (containerd's `ns` query parameter, say) and, when the edge
// forwards the client's Host, that Host. The store keeps every repository, and every
// upstream's version check, under its namespace, so that two upstreams that both have
// `library/alpine` never answer for each other.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace registry_cache {

// The operator's part (the value of registry_cache_namespace), and the whole namespace a name
// is kept under: that part, and a space and the Host when the Host was forwarded; what is left
// of LMDB's 511-byte key after the longest name and digest.
inline constexpr std::size_t max_namespace_length = 100;
inline constexpr std::size_t max_stored_namespace_length = 116;
// The first byte of a name in a namespace: one no repository name or Host starts with, so that
// the store's keys of the empty namespace (those of every store made before namespaces) and of
// the others never meet.
inline constexpr char namespace_mark = '\x7f';

// 1 to max_namespace_length printable ASCII characters, no space (registry host names,
// `docker.io`, `ghcr.io:443`, or whatever the operator's variable says).
bool is_valid_namespace(std::string_view ns) noexcept;

// The namespace of a request whose Host `host` went upstream: `ns`, a space, `host` (neither
// part has a space, so the split is unambiguous). Empty when `host` is empty or not printable
// without spaces, or the whole would be longer than max_stored_namespace_length.
std::string hosted_namespace(std::string_view ns, std::string_view host);

// A Host as a name, as nginx makes $host of it: lowercase, without its port or a trailing dot.
std::string host_name_of(std::string_view host);

// `name` as the store keeps it under the namespace `ns` (an operator's valid namespace, or a
// hosted_namespace()): `name` itself for the empty namespace, else the mark, `ns`, a NUL and
// `name`.
std::string in_namespace(std::string_view ns, std::string_view name);

// The parts of a stored name: false when it starts with the mark but has no valid namespace and
// NUL after it. A name without the mark is in the empty namespace.
bool split_namespace(std::string_view stored, std::string_view& ns, std::string_view& name) noexcept;

}  // namespace registry_cache
