// Every header of the glue at once, for lifecycle.cpp until it moves to process/; the other
// files include only the headers of what they use.
#pragma once

#include "nginx_headers.h"
#include "process/flight.h"
#include "process/process.h"
#include "process/request_state.h"
#include "process/writer.h"
#include "state/conf.h"
#include "state/request.h"
