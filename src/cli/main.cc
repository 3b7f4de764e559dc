// Placeholder entry point; replaced by the CLI implementation.
#include <cstdio>
int main() { std::fprintf(stderr, "cairn: not built yet\n"); return 2; }
