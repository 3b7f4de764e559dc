// Uses the installed cairn C++ header and the VeloC C++ header.
#include <cairn/cairn.hpp>
#include <cstdio>
#include <veloc.hpp>

int main() {
  std::printf("consumer_cpp OK (cairn %s)\n", cairn_version());
  return 0;
}
