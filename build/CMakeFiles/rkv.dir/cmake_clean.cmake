file(REMOVE_RECURSE
  "CMakeFiles/rkv.dir/apps/rkv/flags.cc.o"
  "CMakeFiles/rkv.dir/apps/rkv/flags.cc.o.d"
  "CMakeFiles/rkv.dir/apps/rkv/main.cc.o"
  "CMakeFiles/rkv.dir/apps/rkv/main.cc.o.d"
  "rkv"
  "rkv.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/rkv.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
