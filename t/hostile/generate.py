#!/usr/bin/env python3
"""Writes requests.tsv: hostile and malformed requests with the status each must get.

Run once when the corpus changes; the test (t/e2e/07-hostile-requests.t) reads only the
data. Columns: expected status, a label, the raw request (C-style escapes: \\r \\n \\t \\\\
\\xNN). A status of 0 means: the edge may close the connection without an answer.
"""
import itertools

SHA = "sha256:" + "a" * 64
rows = []


def add(status, label, raw):
    rows.append((status, label, raw))


def req(method, target, headers=(), body=b"", version="HTTP/1.1"):
    lines = [f"{method} {target} {version}".encode("latin-1"), b"Host: localhost"]
    lines += [h.encode("latin-1") if isinstance(h, str) else h for h in headers]
    if body and not any(h.lower().startswith((b"content-length", b"transfer-encoding"))
                        for h in lines):
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# Names that break the OCI grammar: refused locally with 400 NAME_INVALID on every route.
bad_names = ["Upper", "a//b", "a/../b", "../a", "a/./b", "-a", "a-", "a_", ".a", "a..b",
             "a___b", "a%2fb", "a%2Fb", "a%00b", "a%20b", "a%2e%2e", "a:b", "a@b", "a+b",
             "caf%C3%A9", "n" * 256, "a/" * 128 + "b", "a//", "a/-b", "a/b_"]
routes = ["/v2/{}/blobs/" + SHA, "/v2/{}/manifests/latest", "/v2/{}/tags/list",
          "/v2/{}/blobs/uploads/"]
for name, route, method in itertools.product(bad_names, routes, ["GET", "HEAD"]):
    # nginx resolves a leading "../" out of /v2/ before any location matches: its own 404.
    status = 404 if name.startswith("../") else 400
    add(status, f"name {name[:20]!r} {route.split('/')[3]} {method}",
        req(method, route.format(name)))

# Digests that break the grammar or their algorithm's form: 400 DIGEST_INVALID.
bad_digests = ["sha256:" + "A" * 64, "sha256:" + "a" * 63, "sha256:" + "a" * 65,
               "sha256:" + "g" * 64, "sha256:", ":" + "a" * 64, "SHA256:" + "a" * 64,
               "sha256%3A" + "a" * 64, "sha512:" + "a" * 64, "sha384:" + "a" * 64,
               "sha256:" + "a" * 63 + "%00", "sha256:" + "a" * 63 + "%0a", "a" * 64,
               "sha256::" + "a" * 64, "+sha256:" + "a" * 64, "sha256+:" + "a" * 64,
               "sha256:" + "a" * 32 + "/" + "a" * 31]
for digest, method in itertools.product(bad_digests, ["GET", "HEAD", "DELETE"]):
    # A slash inside the digest makes it a different (non-blob) path: the upstream's 404.
    status = 404 if "/" in digest[8:] else 400
    add(status, f"digest {digest[:24]!r} {method}", req(method, "/v2/demo/hello/blobs/" + digest))
for digest in bad_digests[:8]:
    # Without a ':' a manifest reference is a tag, and one with '%' is no valid tag: the
    # upstream's to answer (404), never cached.
    status = 404 if ":" not in digest else 400
    add(status, f"manifest digest {digest[:24]!r}", req("GET", "/v2/demo/hello/manifests/" + digest))

# What nginx itself refuses before any module runs.
add(400, "NUL in the request line", b"GET /v2/demo\x00/blobs/x HTTP/1.1\r\nHost: a\r\n\r\n")
add(400, "raw space in the path", b"GET /v2/demo hello/blobs/x HTTP/1.1\r\nHost: a\r\n\r\n")
add(400, "bare CR in the request line", b"GET /v2/\r/blobs HTTP/1.1\r\nHost: a\r\n\r\n")
add(400, "no Host in HTTP/1.1", b"GET /v2/ HTTP/1.1\r\nConnection: close\r\n\r\n")
add(400, "two Host headers", req("GET", "/v2/", ["Host: b"]))
add(400, "Content-Length and Transfer-Encoding (smuggling)",
    req("POST", "/v2/demo/hello/blobs/uploads/",
        ["Content-Length: 5", "Transfer-Encoding: chunked"], b"0\r\n\r\n"))
add(400, "two Content-Length headers (smuggling)",
    req("POST", "/v2/demo/hello/blobs/uploads/", ["Content-Length: 1", "Content-Length: 2"], b"ab"))
add(400, "negative Content-Length", req("PUT", "/v2/demo/hello/blobs/uploads/x", ["Content-Length: -1"]))
add(400, "Content-Length that is no number", req("PUT", "/v2/demo/hello/blobs/uploads/x", ["Content-Length: 1e3"]))
add(501, "Transfer-Encoding other than chunked",
    req("POST", "/v2/demo/hello/blobs/uploads/", ["Transfer-Encoding: gzip"]))
# nginx drops invalid header lines (ignore_invalid_headers) and answers the rest.
add(200, "header line without a colon", req("GET", "/v2/", ["NoColonHere"]))
add(400, "header name with a space", req("GET", "/v2/", ["Bad Name: x"]))
add(400, "obsolete line folding", req("GET", "/v2/", [b"X-A: 1\r\n folded"]))
add(505, "HTTP/2.0 on the text protocol", req("GET", "/v2/", version="HTTP/2.0"))
add(505, "HTTP/3.5", req("GET", "/v2/", version="HTTP/3.5"))
add(400, "lowercase method", req("get", "/v2/"))
add(400, "method with a digit", req("G3T", "/v2/"))
add(400, "path that is not absolute", req("GET", "v2/demo/hello/blobs/" + SHA))
add(400, "percent-encoded NUL resolved into the path", req("GET", "/v2/demo/%00/blobs/" + SHA))
add(400, "dot-dot above the root", req("GET", "/v2/../../etc/passwd"))
add(414, "request line of 64 KiB", req("GET", "/v2/" + "a" * 65536 + "/blobs/" + SHA))
add(400, "header of 64 KiB", req("GET", "/v2/", ["X-Big: " + "b" * 65536]))
add(400, "Host with a slash", req("GET", "/v2/", version="HTTP/1.0").replace(b"Host: localhost", b"Host: a/b"))

# Well-formed oddities the edge must answer, never cache.
add(405, "TRACE", req("TRACE", "/v2/"))
add(400, "CONNECT", req("CONNECT", "localhost:80"))
# Methods the registry's router does not route for a blob: its own answers, passed on.
for method, status in [("PROPFIND", 405), ("OPTIONS", 200), ("PATCH", 405)]:
    add(status, f"{method} of a blob", req(method, "/v2/demo/hello/blobs/" + SHA))
for method, status in [("DELETE", 404), ("PUT", 405), ("POST", 405)]:
    add(status, f"{method} of an unknown blob on the real registry",
        req(method, "/v2/demo/hello/blobs/" + "sha256:" + "b" * 64))
# Tags that break the grammar are the upstream's to answer (its 404); a reference with ':'
# is a digest, refused locally; nginx refuses an encoded NUL itself.
for tag, status in [("-x", 404), (".x", 404), ("x" * 129, 404), ("%00", 400), ("a%2Fb", 404),
                    ("a:b:c", 400), ("a@b", 404), ("%20", 404)]:
    add(status, f"manifest tag {tag[:16]!r}", req("GET", "/v2/demo/hello/manifests/" + tag))
# Paths that are no API route: the upstream's answer (404, or its 301 to the path without
# the trailing slash); ".../blobs/uploads" without a slash reads as a blob with a bad digest.
for path, status in [("/v2/demo/hello/blobs", 404), ("/v2/demo/hello/tags", 404),
                     ("/v2/demo/hello/referrers/" + SHA, 404),
                     ("/v2/demo/hello/blobs/" + SHA + "/", 301), ("/v2/demo/hello/manifests/", 404),
                     ("/v2/demo/hello/x", 404), ("/v2/demo/hello/blobs/uploads", 400),
                     ("/v2/demo/hello/tags/list/", 301), ("/v2//", 301), ("/v2/_catalog/x", 404)]:
    add(status, f"not an API route: {path[:40]}", req("GET", path))

with open("requests.tsv", "w", encoding="ascii") as out:
    out.write("# status\tlabel\trequest (escaped); generated by generate.py\n")
    for status, label, raw in rows:
        escaped = raw.decode("latin-1").encode("unicode_escape").decode("ascii")
        out.write(f"{status}\t{label}\t{escaped}\n")
print(len(rows), "requests")
