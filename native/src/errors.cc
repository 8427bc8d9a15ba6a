#include "errors.h"

namespace burstcap {

namespace {
struct EnvData {
  Napi::FunctionReference factory;
};

void DeleteEnvData(napi_env, void* data, void*) { delete static_cast<EnvData*>(data); }

EnvData* GetEnvData(Napi::Env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  if (data == nullptr) {
    auto* created = new EnvData();
    napi_set_instance_data(env, created, DeleteEnvData, nullptr);
    return created;
  }
  return static_cast<EnvData*>(data);
}
}  // namespace

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "setErrorFactory expects a function");
  }
  GetEnvData(info.Env())->factory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message, int err,
                      const std::string& detail) {
  EnvData* data = GetEnvData(env);
  if (!data->factory.IsEmpty()) {
    Napi::Value made = data->factory.Call({Napi::String::New(env, code), Napi::String::New(env, message),
                                           Napi::Number::New(env, err), Napi::String::New(env, detail)});
    if (made.IsObject()) return Napi::Error(env, made);
  }
  Napi::Error plain = Napi::Error::New(env, message);
  plain.Set("code", Napi::String::New(env, code));
  return plain;
}

void Throw(Napi::Env env, const std::string& code, const std::string& message, int err, const std::string& detail) {
  throw MakeError(env, code, message, err, detail);
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 4294967295.0) || v != static_cast<double>(static_cast<uint32_t>(v))) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(v);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace burstcap
