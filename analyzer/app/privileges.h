// Which capabilities loading the probes needs and which this process lacks.
#pragma once

#include <string>

namespace dtcli {

// "" when the process may load and attach the probes; otherwise a sentence
// naming the missing capability and how to get it.
std::string missing_privileges();

}  // namespace dtcli
