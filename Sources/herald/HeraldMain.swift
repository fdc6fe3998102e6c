// The `herald` executable: everything lives in the Broker library, so that tests and fuzz
// targets can link the same code.
import ArgumentParser
import Broker

@main
extension Herald {}
