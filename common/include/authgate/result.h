// Expected failures as values: Result<T> holds a T or a Failure (a message). The failure type
// is a parameter so that one template serves every layer: JOSE checks use
// Result<T, jose::Rejection> (a stable Error plus a detail for the log) as jose::Checked<T>.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace authgate {

struct Failure {
    std::string message;
};

inline Failure fail(std::string message) { return Failure{std::move(message)}; }

// What Result::error() returns for a failure type (found by argument-dependent lookup).
inline const std::string& error_of(const Failure& f) noexcept { return f.message; }

template <class T, class E = Failure> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(E failure) : v_(std::move(failure)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const E& failure() const { return std::get<1>(v_); }
    decltype(auto) error() const { return error_of(failure()); }
    // Failure types with a log detail (jose::Rejection).
    const std::string& detail() const { return failure().detail; }
    const E& rejection() const { return failure(); }

  private:
    std::variant<T, E> v_;
};

template <class E> class [[nodiscard]] Result<void, E> {
  public:
    Result() = default;
    Result(E failure) : failed_(true), failure_(std::move(failure)) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const E& failure() const { return failure_; }
    decltype(auto) error() const { return error_of(failure_); }
    const std::string& detail() const { return failure_.detail; }
    const E& rejection() const { return failure_; }

  private:
    bool failed_ = false;
    E failure_{};
};

} // namespace authgate
