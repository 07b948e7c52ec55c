/*
 * detkit's event-loop pump: runs one iteration of Node's libuv loop from inside a JavaScript call.
 *
 * Why: tfjs-backend-webgpu reads GPU data synchronously (Tensor.dataSync, which detkit's fused kernels and
 * value checks use) through OffscreenCanvas, which Node lacks. Dawn (the npm package `webgpu`) completes a
 * buffer's mapAsync when its own libuv timer processes Dawn's events, so a synchronous read in Node copies the
 * data to a mappable buffer, calls mapAsync, and runs the loop here until the buffer is mapped (as the
 * `deasync` package does). Other callbacks that fall due in the meantime run too, re-entrantly.
 *
 * Build: cc -O2 -shared -fPIC -I<node>/include/node -o event-loop-pump.node event-loop-pump.c (N-API 2: one
 * binary serves every Node version of a platform). `node native/build.mjs` does it.
 */
#include <node_api.h>
#include <uv.h>

/* runOnce(wait: boolean): runs one loop iteration (UV_RUN_ONCE when wait, else UV_RUN_NOWAIT); returns
   whether the loop still has active handles. */
static napi_value run_once(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool wait = false;
  uv_loop_t* loop = NULL;
  napi_value result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_bool(env, argv[0], &wait);
  napi_get_uv_event_loop(env, &loop);
  int alive = uv_run(loop, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT);
  napi_get_boolean(env, alive != 0, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "runOnce", NAPI_AUTO_LENGTH, run_once, NULL, &fn);
  napi_set_named_property(env, exports, "runOnce", fn);
  return exports;
}
