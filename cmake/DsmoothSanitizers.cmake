# DS_SANITIZE=address builds everything with AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included); DS_SANITIZE=thread with ThreadSanitizer; DS_SANITIZE=fuzzer
# (clang) with address+undefined and libFuzzer coverage for tests/fuzz.
if(DS_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(DS_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(DS_SANITIZE STREQUAL "fuzzer")
  # libFuzzer builds (clang only): instrument everything, the targets add -fsanitize=fuzzer
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fsanitize-coverage-allowlist=${PROJECT_SOURCE_DIR}/tests/fuzz/coverage-allowlist.txt
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(DS_SANITIZE STREQUAL "fuzzer-coverage")
  # source-based coverage of the fuzz targets over a corpus (tests/fuzz/coverage.sh)
  add_compile_options(-fprofile-instr-generate -fcoverage-mapping)
  add_link_options(-fprofile-instr-generate)
elseif(NOT DS_SANITIZE STREQUAL "")
  message(FATAL_ERROR "DS_SANITIZE must be empty, 'address', 'thread', 'fuzzer' or 'fuzzer-coverage' (got '${DS_SANITIZE}')")
endif()
