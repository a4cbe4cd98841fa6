// A vector whose first N elements live inside it: the request view's short lists (a request
// has one or two Cookie headers) cost no allocation on the hot path.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

namespace authgate {

template <class T, std::size_t N> class InlineVector {
  public:
    void push_back(const T& v) {
        if (heap_.empty() && n_ < N) {
            inline_[n_++] = v;
            return;
        }
        if (heap_.empty()) heap_.assign(inline_.begin(), inline_.begin() + n_);
        heap_.push_back(v);
        ++n_;
    }
    void clear() noexcept {
        n_ = 0;
        heap_.clear();
    }
    std::size_t size() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    const T* data() const noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }
    const T* begin() const noexcept { return data(); }
    const T* end() const noexcept { return data() + n_; }
    const T& operator[](std::size_t i) const noexcept { return data()[i]; }
    operator std::span<const T>() const noexcept { return {data(), n_}; }

  private:
    std::array<T, N> inline_{};
    std::vector<T> heap_; // all elements once there are more than N
    std::size_t n_ = 0;
};

} // namespace authgate
