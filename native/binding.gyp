{
  "targets": [
    {
      "target_name": "batch_udp",
      "sources": ["batch_udp.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
