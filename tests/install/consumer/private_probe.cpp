// Includes a header under src/ (the codec): with only the installed steadyws::client it
// must not be found. tests/install/check.sh expects this file to fail to build.
#include "protocol/codec.hpp"

int main() {
  return 0;
}
