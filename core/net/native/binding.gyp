# Built by `make native` (node-gyp against the local Node headers, no download).
{
  "targets": [
    {
      "target_name": "ambit_net",
      "sources": ["ambit_net.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra"]
    }
  ]
}
