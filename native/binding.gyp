{
  "targets": [
    {
      "target_name": "batch_udp",
      "sources": ["batch_udp.c", "binding.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
