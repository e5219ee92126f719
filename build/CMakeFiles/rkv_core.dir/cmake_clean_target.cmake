file(REMOVE_RECURSE
  "librkv_core.a"
)
