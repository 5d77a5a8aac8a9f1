#include "core/clock.h"

namespace lc {

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace lc
