file(REMOVE_RECURSE
  "CMakeFiles/rkv_core.dir/src/core/buffer.cc.o"
  "CMakeFiles/rkv_core.dir/src/core/buffer.cc.o.d"
  "CMakeFiles/rkv_core.dir/src/core/cpu.cc.o"
  "CMakeFiles/rkv_core.dir/src/core/cpu.cc.o.d"
  "CMakeFiles/rkv_core.dir/src/core/dtype.cc.o"
  "CMakeFiles/rkv_core.dir/src/core/dtype.cc.o.d"
  "CMakeFiles/rkv_core.dir/src/core/tensor.cc.o"
  "CMakeFiles/rkv_core.dir/src/core/tensor.cc.o.d"
  "CMakeFiles/rkv_core.dir/src/core/thread_pool.cc.o"
  "CMakeFiles/rkv_core.dir/src/core/thread_pool.cc.o.d"
  "librkv_core.a"
  "librkv_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/rkv_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
