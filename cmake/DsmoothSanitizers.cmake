# DS_SANITIZE=address builds everything with AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included); DS_SANITIZE=thread with ThreadSanitizer.
if(DS_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(DS_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT DS_SANITIZE STREQUAL "")
  message(FATAL_ERROR "DS_SANITIZE must be empty, 'address' or 'thread' (got '${DS_SANITIZE}')")
endif()
