file(REMOVE_RECURSE
  "librkv_testing.a"
)
