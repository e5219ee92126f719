
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/core/buffer.cc" "CMakeFiles/rkv_core.dir/src/core/buffer.cc.o" "gcc" "CMakeFiles/rkv_core.dir/src/core/buffer.cc.o.d"
  "/work/main/src/core/cpu.cc" "CMakeFiles/rkv_core.dir/src/core/cpu.cc.o" "gcc" "CMakeFiles/rkv_core.dir/src/core/cpu.cc.o.d"
  "/work/main/src/core/dtype.cc" "CMakeFiles/rkv_core.dir/src/core/dtype.cc.o" "gcc" "CMakeFiles/rkv_core.dir/src/core/dtype.cc.o.d"
  "/work/main/src/core/tensor.cc" "CMakeFiles/rkv_core.dir/src/core/tensor.cc.o" "gcc" "CMakeFiles/rkv_core.dir/src/core/tensor.cc.o.d"
  "/work/main/src/core/thread_pool.cc" "CMakeFiles/rkv_core.dir/src/core/thread_pool.cc.o" "gcc" "CMakeFiles/rkv_core.dir/src/core/thread_pool.cc.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
