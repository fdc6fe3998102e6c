import CFuzzerDriver

#if canImport(Glibc)
    import Glibc
#endif

// libFuzzer drives `fuzzExtensions` with its own command line (-max_total_time, corpus folders).
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzExtensions(data, size) })
