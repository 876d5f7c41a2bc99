# Compiles web/ (the dashboard, the reliability test page), the browser client (clients/js/src) and the
# vendored uPlot files into steadyws_server, so the server stays one file to deploy
# (issue 5). Included by src/CMakeLists.txt right after the server layer is defined.
#
# How: at configure time this writes a manifest (one "URL-PATH|FILE" line per asset); at build
# time cmake/embed_web_assets.cmake (run with `cmake -P`) reads every file as HEX and writes
# <build>/src/web_assets.cpp, which defines steadyws::server::find_web_asset (src/server/web_assets.hpp). Editing a file under web/
# rebuilds only that .cpp; adding one is picked up by the CONFIGURE_DEPENDS glob.
#
# The build never touches the network: uPlot is read from node_modules (put there by `npm ci`
# in scripts/install-deps.sh). Without it the server still builds, with a warning, and the
# dashboard shows its figures without the charts.

set(_steadyws_web_dir ${PROJECT_SOURCE_DIR}/web)
file(GLOB_RECURSE _steadyws_web_files CONFIGURE_DEPENDS
     ${_steadyws_web_dir}/*.html ${_steadyws_web_dir}/*.js ${_steadyws_web_dir}/*.css
     ${_steadyws_web_dir}/*.svg ${_steadyws_web_dir}/*.json)
list(SORT _steadyws_web_files)


set(_steadyws_manifest "")
set(_steadyws_web_deps "")
foreach(f IN LISTS _steadyws_web_files)
  file(RELATIVE_PATH rel ${_steadyws_web_dir} ${f})
  # CONTRACT §3: GET / and GET /reliability-test; the .html names answer too.
  if(rel STREQUAL "index.html")
    string(APPEND _steadyws_manifest "/|${f}\n")
  elseif(rel STREQUAL "reliability-test.html")
    string(APPEND _steadyws_manifest "/reliability-test|${f}\n")
  endif()
  string(APPEND _steadyws_manifest "/${rel}|${f}\n")
  list(APPEND _steadyws_web_deps ${f})
endforeach()

# The browser client is the npm package in clients/js (issue 14). Its core is plain ES modules
# with no import outside clients/js/src, so the files themselves are the browser build: each
# clients/js/src/*.js except the React entry (which imports "react") is served at /<name>,
# /steadyws.js first of all. tests/web checks that the served file is the package's source.
set(_steadyws_js_dir ${PROJECT_SOURCE_DIR}/clients/js/src)
file(GLOB _steadyws_js_files CONFIGURE_DEPENDS ${_steadyws_js_dir}/*.js)
list(SORT _steadyws_js_files)
foreach(f IN LISTS _steadyws_js_files)
  get_filename_component(name ${f} NAME)
  if(name MATCHES "^react")
    continue()
  endif()
  string(APPEND _steadyws_manifest "/${name}|${f}\n")
  list(APPEND _steadyws_web_deps ${f})
endforeach()

# Vendored npm assets: served under /vendor/.
set(_steadyws_uplot ${PROJECT_SOURCE_DIR}/node_modules/uplot/dist)
if(EXISTS ${_steadyws_uplot}/uPlot.iife.min.js AND EXISTS ${_steadyws_uplot}/uPlot.min.css)
  string(APPEND _steadyws_manifest
         "/vendor/uPlot.min.js|${_steadyws_uplot}/uPlot.iife.min.js\n"
         "/vendor/uPlot.min.css|${_steadyws_uplot}/uPlot.min.css\n")
  list(APPEND _steadyws_web_deps ${_steadyws_uplot}/uPlot.iife.min.js
       ${_steadyws_uplot}/uPlot.min.css)
else()
  message(WARNING "web assets: node_modules/uplot is missing (run scripts/install-deps.sh); "
                  "the dashboard will be served without its charts")
endif()

set(_steadyws_web_manifest ${CMAKE_CURRENT_BINARY_DIR}/web_assets.manifest)
set(_steadyws_web_cpp ${CMAKE_CURRENT_BINARY_DIR}/web_assets.cpp)
# Rewritten only when the list changes, so an unchanged tree does not rebuild.
file(CONFIGURE OUTPUT ${_steadyws_web_manifest} CONTENT "${_steadyws_manifest}" @ONLY)

add_custom_command(
  OUTPUT ${_steadyws_web_cpp}
  COMMAND ${CMAKE_COMMAND} -DMANIFEST=${_steadyws_web_manifest} -DOUTPUT=${_steadyws_web_cpp}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_web_assets.cmake
  DEPENDS ${_steadyws_web_deps} ${_steadyws_web_manifest}
          ${PROJECT_SOURCE_DIR}/cmake/embed_web_assets.cmake
  COMMENT "Embedding web/ into the server (web_assets.cpp)"
  VERBATIM)

get_target_property(_steadyws_server_type steadyws_server TYPE)
if(_steadyws_server_type STREQUAL "INTERFACE_LIBRARY")
  target_sources(steadyws_server INTERFACE ${_steadyws_web_cpp})
else()
  target_sources(steadyws_server PRIVATE ${_steadyws_web_cpp})
endif()
