{
  "targets": [
    {
      "target_name": "burstcap",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/eal.cc",
        "src/eal_log.cc",
        "src/mempool_ops.cc",
        "src/capture_ring.cc",
        "src/pdump.cc",
        "src/filter.cc",
        "src/ports.cc",
        "src/vdev.cc",
        "src/pcap_writer.cc",
        "src/pcapng_writer.cc",
        "src/drain.cc",
        "src/merge.cc",
        "src/telemetry.cc",
        "src/thread.cc",
        "src/liveness.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["ALLOW_EXPERIMENTAL_API", "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=gnu++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "<!@(pkg-config --cflags libdpdk)"],
      "ldflags": ["-Wl,--disable-new-dtags", "<!@(sh -c 'd=$(pkg-config --variable=libdir libdpdk); echo -Wl,-rpath,$d; for p in $d/dpdk/pmds-*; do [ -d $p ] && echo -Wl,-rpath,$p; done; true')"],
      "libraries": [
        "<!@(pkg-config --libs-only-L libdpdk)",
        "-lrte_pdump", "-lrte_pcapng", "-lrte_bpf", "-lrte_ethdev", "-lrte_mbuf", "-lrte_mempool", "-lrte_ring",
        "-lrte_eal", "-lrte_kvargs", "-lrte_telemetry", "-lpcap", "-lpthread", "-ldl",
        "<!@(sh -c 'd=$(pkg-config --variable=libdir libdpdk); for p in $d/dpdk/pmds-*; do [ -d $p ] && echo -L$p; done; true')",
        "-Wl,--no-as-needed", "-lrte_bus_pci", "-lrte_bus_vdev"
      ]
    }
  ]
}
