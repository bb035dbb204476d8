// What becomes of the body of an upstream's answer to a GET that names a digest: verified as
// it streams, passed as it is, or refused before a byte of it leaves, because it could reach
// the client looking complete without having been checked.
#pragma once

#include <cstdint>
#include <string_view>

#include "registry_cache/learn.h"
#include "registry_cache/route.h"

namespace registry_cache {

// How a cut of the response would look to the client.
enum class ClientFraming {
    sees_every_cut,       // HTTP/1.1 (chunked or with a length), HTTP/2: a cut is an error
    sees_cut_with_length, // HTTP/1.0: a length shows a short body; without one, close ends it
    sees_no_cut           // HTTP/0.9: no status, no length; whatever came is the body
};

struct BodyExchange {
    Method method = Method::other;
    int status = 0;                       // the upstream's
    int outgoing_status = 0;              // what goes to the client, if a filter changed it; 0: the same
    bool client_asked_range = false;      // the client's request had Range
    bool encoded = false;                 // a Content-Encoding other than identity
    std::int64_t content_length = -1;     // the upstream's; -1: none
    std::string_view docker_content_digest;
    ClientFraming framing = ClientFraming::sees_every_cut;
};

enum class BodyCheck {
    pass,             // nothing names what the bytes must be (or verification is off)
    verify,           // hash it against `expected` as it streams
    refuse_encoded,   // named by digest, but encoded: its bytes are not the object's
    refuse_unframed,  // named by digest, but the client could not see a cut of a bad body
    refuse_reshaped   // named by digest, but a filter made another 2xx of it (slice makes one
                      // 200 of the upstream's 206 parts): the client would take it whole
};

struct BodyPlan {
    BodyCheck check = BodyCheck::pass;
    std::string_view expected;  // "algorithm:hex" for verify
    bool teaches = false;       // a verified body may be recorded (a 200, not another 2xx)
};

// What a filter that changed the status made of an upstream's 2xx: nothing (the same status),
// no whole body (a part for the client's own Range, or no body: 304, 412, 416...), or another
// 2xx the client would take for the whole object (slice makes one 200 of 206 parts).
enum class StatusChange { none, no_whole_body, reshaped };
StatusChange status_change(int upstream, int outgoing, bool client_asked_range) noexcept;

// In words, for logs and the OCI error's detail: what becomes of the body, or why it is refused.
std::string_view describe(BodyCheck check) noexcept;

// Every 2xx with a body to a GET by digest (blob or manifest), and to a GET of a manifest by
// tag whose upstream named its digest, is verified; a 206 that answers the client's own
// Range is a part and passes. `route` parsed without error and the upstream was asked for it.
BodyPlan plan_body(const Route& route, const BodyExchange& exchange) noexcept;

// A Content-Encoding header value that changes the bytes: any coding but "identity" (RFC
// 9110 8.4: a comma-separated list, case-insensitive). An empty value changes nothing.
bool changes_bytes(std::string_view content_encoding) noexcept;

}  // namespace registry_cache
