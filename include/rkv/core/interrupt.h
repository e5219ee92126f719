// core/interrupt: SIGINT / SIGTERM as a request to stop. The first signal
// sets a flag that long-running loops poll between steps (generation then
// ends every sequence with stop reason "interrupted" and prints what it has);
// a second signal ends the process at once with the default action.
#pragma once

#include <atomic>

namespace rkv {

// Installs the handlers (idempotent).
void install_interrupt_handler();
// Set once a signal arrived.
const std::atomic<bool>& interrupt_flag();
// 128 + the signal number that arrived (130 for SIGINT), or 0 if none.
int interrupt_exit_code();

}  // namespace rkv
