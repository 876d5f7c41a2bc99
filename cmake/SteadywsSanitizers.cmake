# STEADYWS_SANITIZE="address,undefined" or "thread" instruments every target of ours.
add_library(steadyws_sanitizers INTERFACE)
if(STEADYWS_SANITIZE)
  target_compile_options(steadyws_sanitizers INTERFACE
    -fsanitize=${STEADYWS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(steadyws_sanitizers INTERFACE -fsanitize=${STEADYWS_SANITIZE})
endif()
