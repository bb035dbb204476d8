// The buffers of a body being verified: taken in as they arrive (a large one in a file in
// slices), relayed as shadows when they may go on, and retired once hashed and sent.
#include "verify/verify.h"

#include <new>

namespace registry_cache_verify {
namespace {

// A copy of `b` over bytes [from, to) of its file, none of its end flags but on the last.
ngx_buf_t *file_slice_of(ngx_pool_t *pool, const ngx_buf_t *b, off_t from, off_t to) {
    auto *s = static_cast<ngx_buf_t *>(ngx_palloc(pool, sizeof(ngx_buf_t)));
    if (s == nullptr) {
        throw std::bad_alloc();
    }
    *s = *b;
    s->file_pos = from;
    s->file_last = to;
    if (to != b->file_last) {
        s->last_buf = 0;
        s->last_in_chain = 0;
        s->flush = 0;
        s->sync = 0;
    }
    return s;
}

// Memory for the shadow of a piece: a retired one, or a new one from the pool.
ngx_buf_t *shadow_memory(verify_t &v) {
    ngx_buf_t *s = v.spare_shadows;
    if (s != nullptr) {
        v.spare_shadows = s->shadow;
        return s;
    }
    s = static_cast<ngx_buf_t *>(ngx_palloc(v.r->pool, sizeof(ngx_buf_t)));
    if (s == nullptr) {
        throw std::bad_alloc();
    }
    return s;
}

void take_piece(verify_t &v, ngx_buf_t *b, ngx_buf_t *owner, bool slice) {
    off_t size = ngx_buf_special(b) ? 0 : ngx_buf_size(b);
    bool in_memory = ngx_buf_in_memory(b);
    ngx_chain_t *link = ngx_alloc_chain_link(v.r->pool);
    if (link == nullptr) {
        throw std::bad_alloc();
    }
    Piece p{b, owner, nullptr, shadow_memory(v), link,
            in_memory ? b->pos : nullptr, in_memory || size == 0 ? NGX_INVALID_FILE : b->file->fd,
            in_memory ? 0 : b->file_pos, size, slice,
            v.end_seen, size == 0, size == 0};
    try {
        v.pieces.push_back(p);
    } catch (...) {
        p.shadow_memory->shadow = v.spare_shadows;
        v.spare_shadows = p.shadow_memory;
        throw;
    }
    Piece &taken = v.pieces.back();
    if (!v.end_seen) {
        v.received += static_cast<std::uint64_t>(size);
        // The end: the last buffer, or the declared length reached.
        if (b->last_buf || (v.length >= 0 && v.received >= static_cast<std::uint64_t>(v.length))) {
            v.end_seen = true;
            taken.at_end = true;
        }
    }
}

// Copies a buffer of a manifest being kept, or gives the manifest up.
void keep_manifest_bytes(verify_t &v, const ngx_buf_t *b) noexcept {
    if (!v.keeps_manifest || v.end_seen || ngx_buf_special(b)) {
        return;
    }
    const auto size = static_cast<size_t>(ngx_buf_size(b));
    if (ngx_buf_in_memory(b) && v.manifest_body.size() + size <= v.manifest_limit) {
        try {
            v.manifest_body.append(reinterpret_cast<const char *>(b->pos), size);
            return;
        } catch (...) {
        }
    }
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, v.r->connection->log, 0,
                   "registry cache: manifest too large, in a file, or out of memory: not kept");
    v.keeps_manifest = false;
    std::string().swap(v.manifest_body);
    manifest_not_kept(v);
}

}  // namespace

void take_in(verify_t &v, ngx_chain_t *in) {
    for (ngx_chain_t *cl = in; cl != nullptr; cl = cl->next) {
        ngx_buf_t *b = cl->buf;
        keep_manifest_bytes(v, b);
        if (ngx_buf_in_memory(b) || !b->in_file || b->file_last - b->file_pos <= file_slice) {
            take_piece(v, b, b, false);
            continue;
        }
        for (off_t at = b->file_pos; at < b->file_last; at += file_slice) {
            off_t to = ngx_min(at + file_slice, b->file_last);
            take_piece(v, file_slice_of(v.r->pool, b, at, to), to == b->file_last ? b : nullptr, true);
        }
    }
}

// Shadows of the pieces that may go on now, in order: everything before the end, and the
// end once the body matched. Allocates nothing: each piece brought its shadow's memory.
ngx_chain_t *relay(verify_t &v) noexcept {
    ngx_chain_t *out = nullptr;
    ngx_chain_t **last = &out;
    std::uint64_t ahead = 0;  // bytes of slices relayed and not yet hashed
    for (Piece &p : v.pieces) {
        std::uint64_t unhashed = p.slice && !p.hashed ? static_cast<std::uint64_t>(p.size) : 0;
        if (p.shadow != nullptr) {
            ahead += unhashed;
            continue;
        }
        if ((p.at_end && !v.matched) || (ahead != 0 && ahead + unhashed > slices_ahead)) {
            break;
        }
        ahead += unhashed;
        ngx_buf_t *s = p.shadow_memory;
        *s = *p.buf;
        s->shadow = nullptr;
        s->tag = reinterpret_cast<ngx_buf_tag_t>(&ngx_http_registry_cache_module);
        p.link->buf = s;
        p.link->next = nullptr;
        *last = p.link;
        last = &p.link->next;
        p.shadow = s;
    }
    return out;
}

// Consumes, in order, the buffers that are hashed and whose shadow was sent: their owner may
// now reuse them.
void retire(verify_t &v) noexcept {
    while (!v.pieces.empty()) {
        Piece &p = v.pieces.front();
        if (!p.hashed || p.shadow == nullptr || ngx_buf_size(p.shadow) != 0) {
            break;
        }
        p.shadow->shadow = v.spare_shadows;
        v.spare_shadows = p.shadow;
        if (p.owner != nullptr) {
            p.owner->pos = p.owner->last;
            p.owner->file_pos = p.owner->file_last;
        }
        v.pieces.pop_front();
    }
}

bool holds_back(const verify_t &v) noexcept {
    for (const Piece &p : v.pieces) {
        if (p.shadow == nullptr) {
            return true;
        }
    }
    return false;
}

bool holds_bytes(const verify_t &v) noexcept {
    if (v.in_flight) {
        return true;
    }
    for (const Piece &p : v.pieces) {
        if (p.shadow == nullptr || !p.hashed) {
            return true;
        }
    }
    return false;
}

}  // namespace registry_cache_verify
