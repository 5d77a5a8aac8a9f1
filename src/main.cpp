// main.cpp — argv + environment → mode; nothing else (architecture.md "Layout").
#include "app/modes.h"
#include "core/config_registry.h"

int main(int argc, char** argv) {
  const lc::ProcessEnvironment env;
  return lc::app::run_main(argc, argv, env);
}
