// The embedded store in an nginx shared-memory zone: entries in a red-black tree keyed by
// a hash of the key, an LRU queue for eviction, wall-clock expiry shared by all workers.
#include "ngx_http_authgate_shm_store.h"
#include "ngx_http_authgate_conf.h"

#include <charconv>

#include "authgate/store_keys.h"

namespace authgate::ngx {

namespace {

constexpr std::size_t kMaxKey = std::size_t{64} * 1024;
constexpr std::size_t kMaxValue = kMaxRecordBytes;

struct Shared {
    ngx_rbtree_t tree;
    ngx_rbtree_node_t sentinel;
    ngx_queue_t lru; // most recently used at the head
    ngx_uint_t eviction_logged;
};

struct ZoneCtx {
    Shared* sh;
    ngx_slab_pool_t* pool;
    ngx_str_t name;
};

// One allocation per entry: node, then key bytes, then value bytes.
struct Entry {
    ngx_rbtree_node_t node; // node.key = hash of the key
    ngx_queue_t queue;
    int64_t expires_ms;
    uint32_t key_len;
    uint32_t value_len;
    u_char data[1];

    std::string_view key() const { return {reinterpret_cast<const char*>(data), key_len}; }
    std::string_view value() const {
        return {reinterpret_cast<const char*>(data) + key_len, value_len};
    }
};

uint32_t key_hash(std::string_view key) {
    return ngx_murmur_hash2(reinterpret_cast<u_char*>(const_cast<char*>(key.data())), key.size());
}

int64_t now_ms() {
    ngx_time_t* tp = ngx_timeofday();
    return static_cast<int64_t>(tp->sec) * 1000 + static_cast<int64_t>(tp->msec);
}

Entry* entry_of(ngx_rbtree_node_t* node) {
    return reinterpret_cast<Entry*>(reinterpret_cast<u_char*>(node) - offsetof(Entry, node));
}

void insert_value(ngx_rbtree_node_t* temp, ngx_rbtree_node_t* node, ngx_rbtree_node_t* sentinel) {
    ngx_rbtree_node_t** p;
    for (;;) {
        if (node->key < temp->key) {
            p = &temp->left;
        } else if (node->key > temp->key) {
            p = &temp->right;
        } else {
            p = entry_of(node)->key() < entry_of(temp)->key() ? &temp->left : &temp->right;
        }
        if (*p == sentinel) break;
        temp = *p;
    }
    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}

ngx_int_t init_zone(ngx_shm_zone_t* zone, void* data) {
    auto* ctx = static_cast<ZoneCtx*>(zone->data);
    ctx->pool = reinterpret_cast<ngx_slab_pool_t*>(zone->shm.addr);
    if (data != nullptr) { // reload: the zone and its entries carry over
        ctx->sh = static_cast<ZoneCtx*>(data)->sh;
        return NGX_OK;
    }
    if (zone->shm.exists) {
        ctx->sh = static_cast<Shared*>(ctx->pool->data);
        return NGX_OK;
    }
    ctx->sh = static_cast<Shared*>(ngx_slab_alloc(ctx->pool, sizeof(Shared)));
    if (ctx->sh == nullptr) return NGX_ERROR;
    ctx->pool->data = ctx->sh;
    ngx_rbtree_init(&ctx->sh->tree, &ctx->sh->sentinel, insert_value);
    ngx_queue_init(&ctx->sh->lru);
    ctx->sh->eviction_logged = 0;

    size_t len = sizeof(" in authgate zone \"\"") + zone->shm.name.len;
    ctx->pool->log_ctx = static_cast<u_char*>(ngx_slab_alloc(ctx->pool, len));
    if (ctx->pool->log_ctx == nullptr) return NGX_ERROR;
    ngx_sprintf(ctx->pool->log_ctx, " in authgate zone \"%V\"%Z", &zone->shm.name);
    ctx->pool->log_nomem = 0;
    return NGX_OK;
}

// All operations run under the zone's mutex; Locked is the RAII holder.
class Locked {
  public:
    explicit Locked(ZoneCtx* ctx) : ctx_(ctx) { ngx_shmtx_lock(&ctx_->pool->mutex); }
    ~Locked() { ngx_shmtx_unlock(&ctx_->pool->mutex); }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;

    Entry* find(std::string_view key) {
        uint32_t hash = key_hash(key);
        ngx_rbtree_node_t* node = ctx_->sh->tree.root;
        ngx_rbtree_node_t* sentinel = ctx_->sh->tree.sentinel;
        while (node != sentinel) {
            if (hash != node->key) {
                node = hash < node->key ? node->left : node->right;
                continue;
            }
            Entry* e = entry_of(node);
            if (key == e->key()) return e;
            node = key < e->key() ? node->left : node->right;
        }
        return nullptr;
    }

    // A live entry, or nullptr (an expired one is removed).
    Entry* find_live(std::string_view key, int64_t now) {
        Entry* e = find(key);
        if (e != nullptr && e->expires_ms <= now) {
            remove(e);
            return nullptr;
        }
        return e;
    }

    void touch(Entry* e) {
        ngx_queue_remove(&e->queue);
        ngx_queue_insert_head(&ctx_->sh->lru, &e->queue);
    }

    void remove(Entry* e) {
        ngx_queue_remove(&e->queue);
        ngx_rbtree_delete(&ctx_->sh->tree, &e->node);
        ngx_slab_free_locked(ctx_->pool, e);
    }

    // Frees up to n expired entries from the cold end of the queue.
    void expire(int64_t now, ngx_uint_t n) {
        while (n-- > 0 && !ngx_queue_empty(&ctx_->sh->lru)) {
            ngx_queue_t* q = ngx_queue_last(&ctx_->sh->lru);
            Entry* e = ngx_queue_data(q, Entry, queue);
            if (e->expires_ms > now) return;
            remove(e);
        }
    }

    // Inserts a new entry, making room by expiry and then LRU eviction; `keep` (the entry
    // being replaced, if any) is never evicted for it.
    Entry* insert(std::string_view key, std::string_view value, int64_t expires_ms, int64_t now,
                  ngx_log_t* log, Entry* keep = nullptr) {
        if (keep != nullptr) touch(keep); // evicted last; live, so expire() spares it
        size_t size = offsetof(Entry, data) + key.size() + value.size();
        auto* e = static_cast<Entry*>(ngx_slab_alloc_locked(ctx_->pool, size));
        if (e == nullptr) {
            expire(now, NGX_MAX_UINT32_VALUE);
            e = static_cast<Entry*>(ngx_slab_alloc_locked(ctx_->pool, size));
        }
        while (e == nullptr && !ngx_queue_empty(&ctx_->sh->lru) &&
               ngx_queue_data(ngx_queue_last(&ctx_->sh->lru), Entry, queue) != keep) {
            if (!ctx_->sh->eviction_logged) {
                ctx_->sh->eviction_logged = 1;
                ngx_log_error(NGX_LOG_WARN, log, 0,
                              "authgate: shared memory zone \"%V\" is full, evicting least "
                              "recently used entries",
                              &ctx_->name);
            }
            remove(ngx_queue_data(ngx_queue_last(&ctx_->sh->lru), Entry, queue));
            e = static_cast<Entry*>(ngx_slab_alloc_locked(ctx_->pool, size));
        }
        if (e == nullptr) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "authgate: entry of %uz bytes does not fit in shared memory zone \"%V\"",
                          size, &ctx_->name);
            return nullptr;
        }
        e->node.key = key_hash(key);
        e->expires_ms = expires_ms;
        e->key_len = static_cast<uint32_t>(key.size());
        e->value_len = static_cast<uint32_t>(value.size());
        ngx_memcpy(e->data, key.data(), key.size());
        ngx_memcpy(e->data + key.size(), value.data(), value.size());
        ngx_rbtree_insert(&ctx_->sh->tree, &e->node);
        ngx_queue_insert_head(&ctx_->sh->lru, &e->queue);
        return e;
    }

    // Writes the entry for key, replacing `old` (may be null) only once the new one is in:
    // a failed write leaves the old entry as it was.
    bool replace(Entry* old, std::string_view key, std::string_view value, int64_t expires_ms,
                 int64_t now, ngx_log_t* log) {
        if (insert(key, value, expires_ms, now, log, old) == nullptr) return false;
        if (old != nullptr) remove(old);
        return true;
    }

  private:
    ZoneCtx* ctx_;
};

bool fits(ngx_log_t* log, std::string_view key, std::string_view value) {
    if (key.size() <= kMaxKey && value.size() <= kMaxValue) return true;
    ngx_log_error(NGX_LOG_ERR, log, 0, "authgate: store entry too large (key %uz, value %uz)",
                  key.size(), value.size());
    return false;
}

} // namespace

ngx_shm_zone_t* shm_store_zone_add(ngx_conf_t* cf, const ngx_str_t& name, size_t size,
                                   const std::string& origin) {
    if (size < 8 * ngx_pagesize) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "authgate: zone \"%V\" is too small: at least %uz bytes are needed%s", &name,
                      8 * ngx_pagesize, origin.c_str());
        return nullptr;
    }
    ngx_str_t zone_name = name;
    ngx_shm_zone_t* zone = ngx_shared_memory_add(cf, &zone_name, size, &ngx_http_authgate_module);
    if (zone == nullptr) return nullptr;
    if (zone->data != nullptr) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "authgate: zone \"%V\" is already in use%s", &name,
                      origin.c_str());
        return nullptr;
    }
    auto* ctx = static_cast<ZoneCtx*>(ngx_pcalloc(cf->pool, sizeof(ZoneCtx)));
    if (ctx == nullptr) return nullptr;
    ctx->name = zone_name;
    zone->init = init_zone;
    zone->data = ctx;
    return zone;
}

// The Locked guard unlocks on every path, exceptions (bad_alloc) included.

Task<StoreReply<std::optional<std::string>>> ShmStore::get(std::string_view key) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    std::optional<std::string> out;
    {
        Locked z(ctx);
        Entry* e = z.find_live(key, now_ms());
        if (e != nullptr) {
            z.touch(e);
            out.emplace(e->value());
        }
    }
    StoreReply<std::optional<std::string>> reply{StoreStatus::ok, std::move(out)};
    co_return reply; // built first: clang-analyzer takes a moved co_return operand as moved twice
}

// Read under the zone lock like get, so every worker sees a logout at once; nothing copied.
std::optional<bool> ShmStore::equals_now(std::string_view key, std::string_view expected) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    Locked z(ctx);
    Entry* e = z.find_live(key, now_ms());
    if (e == nullptr) return false;
    z.touch(e);
    return e->value() == expected;
}

Task<StoreReply<bool>> ShmStore::set(std::string_view key, std::string value, Millis ttl_ms) {
    if (!fits(log_, key, value)) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    bool stored;
    {
        Locked z(ctx);
        int64_t now = now_ms();
        z.expire(now, 2);
        stored = z.replace(z.find_live(key, now), key, value, now + ttl_ms, now, log_);
    }
    co_return StoreReply<bool>{stored ? StoreStatus::ok : StoreStatus::unavailable, stored};
}

// Compared and written under the zone lock: atomic across workers.
Task<StoreReply<bool>> ShmStore::compare_and_set(std::string_view key, std::string_view expected,
                                                 std::string value, Millis ttl_ms) {
    if (!fits(log_, key, value)) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    StoreReply<bool> reply;
    {
        Locked z(ctx);
        int64_t now = now_ms();
        Entry* old = z.find_live(key, now);
        if (old == nullptr || old->value() != expected) {
            reply = {StoreStatus::ok, false};
        } else if (z.replace(old, key, value, now + ttl_ms, now, log_)) {
            reply = {StoreStatus::ok, true};
        } else {
            reply = {StoreStatus::unavailable, false};
        }
    }
    co_return reply;
}

Task<StoreReply<bool>> ShmStore::set_if_absent(std::string_view key, std::string value,
                                               Millis ttl_ms) {
    if (!fits(log_, key, value)) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    StoreReply<bool> reply;
    {
        Locked z(ctx);
        int64_t now = now_ms();
        z.expire(now, 2);
        if (z.find_live(key, now) != nullptr) {
            reply = {StoreStatus::ok, false};
        } else if (z.insert(key, value, now + ttl_ms, now, log_) != nullptr) {
            reply = {StoreStatus::ok, true};
        } else {
            reply = {StoreStatus::unavailable, false};
        }
    }
    co_return reply;
}

Task<StoreReply<bool>> ShmStore::del(std::string_view key) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    bool removed = false;
    {
        Locked z(ctx);
        if (Entry* e = z.find_live(key, now_ms())) {
            z.remove(e);
            removed = true;
        }
    }
    co_return StoreReply<bool>{StoreStatus::ok, removed};
}

Task<StoreReply<std::int64_t>> ShmStore::incr(std::string_view key, std::int64_t delta,
                                              Millis ttl_ms) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    StoreReply<std::int64_t> reply;
    {
        Locked z(ctx);
        int64_t now = now_ms();
        int64_t value = delta;
        int64_t expires = now + ttl_ms;
        Entry* e = z.find_live(key, now);
        if (e != nullptr) {
            std::string_view text = e->value();
            int64_t current = 0;
            std::from_chars(text.data(), text.data() + text.size(), current);
            value = current + delta;
            expires = e->expires_ms; // a counter keeps its window
        }
        char buf[24];
        auto res = std::to_chars(buf, buf + sizeof buf, value);
        std::string_view digits(buf, static_cast<std::size_t>(res.ptr - buf));
        if (z.replace(e, key, digits, expires, now, log_)) {
            reply = {StoreStatus::ok, value};
        } else {
            reply = {StoreStatus::unavailable, 0};
        }
    }
    co_return reply;
}

// Indexes are one record each, rewritten under the zone lock (atomic across workers).
Task<StoreReply<bool>> ShmStore::index_add(std::string_view index, std::string_view member,
                                           Millis expires_at_ms, Millis now_ms) {
    co_return update_index(index, member, expires_at_ms, false, now_ms);
}

Task<StoreReply<bool>> ShmStore::index_remove(std::string_view index, std::string_view member) {
    co_return update_index(index, member, 0, true, now_ms());
}

Task<StoreReply<std::vector<std::string>>> ShmStore::index_members(std::string_view index,
                                                                   Millis now) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    IndexEntries entries;
    {
        Locked z(ctx);
        if (Entry* e = z.find_live(index, now_ms())) decode_index(e->value(), entries);
    }
    sort_index(entries);
    std::vector<std::string> out;
    for (auto& [expires, member] : entries) {
        if (expires > now) out.push_back(std::move(member));
    }
    StoreReply<std::vector<std::string>> reply{StoreStatus::ok, std::move(out)};
    co_return reply;
}

// Records in shared memory do not expire (but, like everything here, a full zone may
// evict them: durable records belong in Redis).
Task<StoreReply<bool>> ShmStore::hash_set(std::string_view key, Fields fields) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    bool ok = false;
    {
        Locked z(ctx);
        int64_t now = now_ms();
        Entry* old = z.find_live(key, now);
        std::optional<std::string_view> current;
        if (old != nullptr) current = old->value();
        auto value = merged_record(current, std::move(fields));
        if (value && fits(log_, key, *value)) {
            ok = z.replace(old, key, *value, INT64_MAX, now, log_);
        } else if (!value) {
            ngx_log_error(NGX_LOG_ERR, log_, 0, "authgate: record update refused: over %uz bytes",
                          kMaxRecordBytes);
        }
    }
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<std::optional<Store::Fields>>> ShmStore::hash_get(std::string_view key) {
    using Reply = StoreReply<std::optional<Fields>>;
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    std::optional<Fields> out;
    {
        Locked z(ctx);
        if (Entry* e = z.find_live(key, now_ms())) {
            Fields f;
            if (decode_fields(e->value(), f)) out = std::move(f);
        }
    }
    Reply reply{StoreStatus::ok, std::move(out)};
    co_return reply;
}

// The TAT read, stepped and rewritten in one critical section: exact across workers. The
// entry expires like the others, on the same clock as the step (the caller's).
std::optional<StoreReply<limit::Verdict>>
ShmStore::rate_limit_now(std::string_view key, const limit::Rule& rule, Millis now) {
    using Reply = StoreReply<limit::Verdict>;
    if (!fits(log_, key, {})) return Reply{StoreStatus::unavailable, {}};
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    Locked z(ctx);
    z.expire(now, 2);
    Entry* old = z.find_live(key, now);
    std::optional<limit::Micros> tat;
    if (old != nullptr) tat = limit::decode_tat(old->value()); // unreadable: none
    limit::Step step = limit::gcra(tat, rule, now * 1000);
    if (!step.write) {
        if (old != nullptr) z.touch(old);
        return Reply{StoreStatus::ok, step.verdict};
    }
    // encode_tat's decimal form, without allocating under the lock.
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, step.tat_us);
    std::string_view digits(buf, static_cast<std::size_t>(res.ptr - buf));
    if (!z.replace(old, key, digits, now + step.ttl_ms, now, log_)) {
        return Reply{StoreStatus::unavailable, {}};
    }
    return Reply{StoreStatus::ok, step.verdict};
}

StoreReply<bool> ShmStore::update_index(std::string_view index, std::string_view member,
                                        Millis expires_at_ms, bool remove, Millis now) {
    auto* ctx = static_cast<ZoneCtx*>(zone_->data);
    Locked z(ctx);
    int64_t clock = now_ms();
    Entry* old = z.find_live(index, clock);
    std::optional<std::string_view> current;
    if (old != nullptr) current = old->value();
    IndexUpdate u = update_index_record(current, member, expires_at_ms, remove, now);
    switch (u.outcome) {
    case IndexUpdate::Outcome::erase:
        if (old != nullptr) z.remove(old);
        return {StoreStatus::ok, true};
    case IndexUpdate::Outcome::full:
        ngx_log_error(NGX_LOG_ERR, log_, 0, "authgate: index full (%uz members), not added",
                      kMaxIndexMembers);
        return {StoreStatus::unavailable, false};
    case IndexUpdate::Outcome::write: break;
    }
    if (!fits(log_, index, u.value)) return {StoreStatus::unavailable, false};
    bool ok = z.replace(old, index, u.value, u.expires_ms, clock, log_);
    return {ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

} // namespace authgate::ngx
