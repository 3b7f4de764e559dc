/* CAIRN_EXPORT: marks the symbols of cairn's public API (the cairn C API, the VeloC C
 * API, veloc::get_client and veloc::client_t). libcairn.so is built with hidden
 * visibility, so everything not marked is private to the library. */
#ifndef CAIRN_EXPORT_H
#define CAIRN_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CAIRN_EXPORT __attribute__((visibility("default")))
#else
#define CAIRN_EXPORT
#endif

#endif /* CAIRN_EXPORT_H */
