// Signature algorithm names and which key types may verify them.
#include "authgate/jose.h"

#include <array>

namespace authgate::jose {

namespace {

struct AlgName {
    Alg alg;
    std::string_view name;
};

constexpr std::array<AlgName, 9> kAlgs{{
    {Alg::rs256, "RS256"},
    {Alg::rs384, "RS384"},
    {Alg::rs512, "RS512"},
    {Alg::ps256, "PS256"},
    {Alg::ps384, "PS384"},
    {Alg::ps512, "PS512"},
    {Alg::es256, "ES256"},
    {Alg::es384, "ES384"},
    {Alg::es512, "ES512"},
}};

} // namespace

std::optional<Alg> alg_from_name(std::string_view name) {
    for (const auto& a : kAlgs) {
        if (a.name == name) return a.alg;
    }
    return std::nullopt;
}

std::string_view alg_name(Alg alg) noexcept {
    for (const auto& a : kAlgs) {
        if (a.alg == alg) return a.name;
    }
    return "?";
}

bool key_fits_alg(KeyType type, Alg alg) noexcept {
    switch (type) {
    case KeyType::rsa:
        return alg == Alg::rs256 || alg == Alg::rs384 || alg == Alg::rs512 || alg == Alg::ps256 ||
               alg == Alg::ps384 || alg == Alg::ps512;
    case KeyType::ec_p256: return alg == Alg::es256;
    case KeyType::ec_p384: return alg == Alg::es384;
    case KeyType::ec_p521: return alg == Alg::es512;
    }
    return false;
}

} // namespace authgate::jose
