file(REMOVE_RECURSE
  "CMakeFiles/rkv_testing.dir/common/testing.cc.o"
  "CMakeFiles/rkv_testing.dir/common/testing.cc.o.d"
  "librkv_testing.a"
  "librkv_testing.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/rkv_testing.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
