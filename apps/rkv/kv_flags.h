// apps/rkv/kv_flags: the compression-method flags shared by `rkv compress`
// and `rkv generate`, declared once with their defaults and help.
#pragma once

#include "rkv/compression/config.h"
#include "rkv/flags.h"

namespace rkv::cli {

// --budget --window --kernel --lambda --retain-ratio --retain-direction
// --first-tokens --gqa-pool --keep-order
void declare_compression_flags(Flags& f);
// The method's defaults (RKV-SPEC.md §4) overridden by the flags; validated.
CompressionConfig compression_from_flags(const Flags& f, Method method);

}  // namespace rkv::cli
