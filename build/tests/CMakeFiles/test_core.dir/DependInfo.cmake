
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/core/dtype_test.cc" "tests/CMakeFiles/test_core.dir/core/dtype_test.cc.o" "gcc" "tests/CMakeFiles/test_core.dir/core/dtype_test.cc.o.d"
  "/work/main/tests/core/thread_pool_test.cc" "tests/CMakeFiles/test_core.dir/core/thread_pool_test.cc.o" "gcc" "tests/CMakeFiles/test_core.dir/core/thread_pool_test.cc.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/tests/CMakeFiles/rkv_testing.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/rkv_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
