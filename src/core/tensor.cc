#include "rkv/core/tensor.h"

#include <sstream>

namespace rkv {

std::string shape_string(const Shape& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

static Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t step = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

TensorView::TensorView(void* data_in, DType dtype_in, Shape shape_in)
    : data(data_in), dtype(dtype_in), shape(std::move(shape_in)), strides(contiguous_strides(shape)) {}

TensorView::TensorView(void* data_in, DType dtype_in, Shape shape_in, Shape strides_in)
    : data(data_in), dtype(dtype_in), shape(std::move(shape_in)), strides(std::move(strides_in)) {
  RKV_CHECK(shape.size() == strides.size(), "tensor view: ", shape.size(), " dims but ", strides.size(), " strides");
}

bool TensorView::is_contiguous() const { return strides == contiguous_strides(shape); }

TensorView TensorView::slice0(int64_t i) const {
  RKV_CHECK(rank() >= 1 && i >= 0 && i < shape[0], "slice index ", i, " out of range for shape ", shape_string(shape));
  auto* base = static_cast<char*>(data) + i * strides[0] * static_cast<int64_t>(dtype_size(dtype));
  return TensorView(base, dtype, Shape(shape.begin() + 1, shape.end()), Shape(strides.begin() + 1, strides.end()));
}

void expect_shape(const TensorView& view, const Shape& shape, const std::string& name) {
  bool ok = view.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == view.shape[i];
  if (!ok) {
    Shape shown = shape;
    std::string expected = "[";
    for (size_t i = 0; i < shown.size(); ++i) expected += (i ? ", " : "") + (shown[i] < 0 ? std::string("*") : std::to_string(shown[i]));
    fail(name, ": expected shape ", expected, "], got ", shape_string(view.shape));
  }
}

Tensor::Tensor(DType dtype, Shape shape)
    : buffer_(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype)), view_(nullptr, dtype, std::move(shape)) {
  view_.data = buffer_.data();
}

}  // namespace rkv
