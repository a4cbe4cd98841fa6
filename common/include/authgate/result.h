// Expected failures as values: Result<T> holds a T or an error message.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace authgate {

struct Failure {
    std::string message;
};

inline Failure fail(std::string message) { return Failure{std::move(message)}; }

template <class T> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Failure f) : v_(std::move(f)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const std::string& error() const { return std::get<1>(v_).message; }

  private:
    std::variant<T, Failure> v_;
};

template <> class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Failure f) : failed_(true), message_(std::move(f.message)) {}
    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const std::string& error() const { return message_; }

  private:
    bool failed_ = false;
    std::string message_;
};

} // namespace authgate
