// core/tensor: non-owning strided views over typed memory, and an owning
// Tensor (aligned buffer + contiguous view).
//
// A view is (data, dtype, shape, strides in elements). Kernels normally ask
// for contiguous views; `expect_shape` gives the uniform error message
// "NAME: expected shape [a, b], got [c, d]".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "rkv/core/buffer.h"
#include "rkv/core/dtype.h"
#include "rkv/core/error.h"

namespace rkv {

using Shape = std::vector<int64_t>;

std::string shape_string(const Shape& shape);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& shape);

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::F32;
  Shape shape;
  Shape strides;  // in elements

  TensorView() = default;
  TensorView(void* data, DType dtype, Shape shape);                  // contiguous
  TensorView(void* data, DType dtype, Shape shape, Shape strides);  // strided

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape.at(i < 0 ? i + rank() : i); }
  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool empty() const { return numel() == 0; }
  bool is_contiguous() const;

  // Typed pointer to the first element; throws if the dtype differs.
  template <class T> T* as(DType expected) const {
    RKV_CHECK(dtype == expected, "tensor has type ", dtype_name(dtype), ", expected ", dtype_name(expected));
    return static_cast<T*>(data);
  }
  // View of index i along dimension 0 (rank drops by one).
  TensorView slice0(int64_t i) const;
};

// Throws "NAME: expected shape ..., got ..." unless view.shape == shape
// (-1 in `shape` matches any size).
void expect_shape(const TensorView& view, const Shape& shape, const std::string& name);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled, contiguous
  const TensorView& view() const { return view_; }
  TensorView& view() { return view_; }
  template <class T> T* data() { return static_cast<T*>(view_.data); }
  template <class T> const T* data() const { return static_cast<const T*>(view_.data); }
  const Shape& shape() const { return view_.shape; }
  DType dtype() const { return view_.dtype; }
  int64_t numel() const { return view_.numel(); }

 private:
  AlignedBuffer buffer_;
  TensorView view_;
};

}  // namespace rkv
