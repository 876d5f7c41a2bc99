# One INTERFACE target with the house warnings; every target of ours links it.
add_library(steadyws_warnings INTERFACE)
target_compile_options(steadyws_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  $<$<BOOL:${STEADYWS_WERROR}>:-Werror>)
