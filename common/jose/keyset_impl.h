// Inside a KeySet: each usable key with its cjose handle (private to common/jose).
#pragma once

#include <memory>
#include <vector>

#include <cjose/jwk.h>

#include "authgate/jose.h"

namespace authgate::jose {

struct JwkRelease {
    void operator()(cjose_jwk_t* jwk) const { cjose_jwk_release(jwk); }
};
using JwkHandle = std::unique_ptr<cjose_jwk_t, JwkRelease>;

struct KeySet::Impl {
    struct Entry {
        Info info;
        JwkHandle jwk;
    };
    std::vector<Entry> keys;
    Skipped skipped;
};

} // namespace authgate::jose
