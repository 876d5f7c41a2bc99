// The one event loop every thread of ours runs (server, client, proxy, load generators,
// check): Asio's io_context::run, restarted when a completion handler throws.
//
// STYLE 3.4.5: no exception may escape a completion handler; one that does is a bug. The
// loop tells `on_throw(what)`, which logs it (and may count it), and goes on running the
// other handlers when it returns true; false ends the loop (a tool that would rather stop
// than run on after a bug). Without the loop, a throw would end the thread's run() and
// leave every connection of that thread unserved, or terminate the process.
#pragma once

#include <exception>
#include <string_view>

#include <boost/asio/io_context.hpp>

namespace steadyws::io {

template <class OnThrow>
void run_io_context(boost::asio::io_context& ioc, OnThrow&& on_throw) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      if (!on_throw(std::string_view(e.what())))
        return;
    } catch (...) {
      if (!on_throw(std::string_view("an exception of unknown type")))
        return;
    }
  }
}

}  // namespace steadyws::io
