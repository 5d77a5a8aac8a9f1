// core/microvm_config.h — the microVM platform and its lifecycle server (serverless-init.md §5.1,
// §7.3). The platform is selected by AWS_LAMBDA_MICROVM_IMAGE_ARN being present, even empty: the
// composition root asks the Environment for presence; this part holds the value.
#pragma once

#include <string>

namespace lc {

struct MicrovmConfig {
  std::string image_arn;  // empty when unset or set empty
};

}  // namespace lc
